// Rows of the PostgreSQL store's `events` table, to and from RecordedEvent (the store, the
// appender and the sequencer share them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/uuid.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/event.h"

namespace cqrs::pg_rows {

// The columns FromRow reads, in its order (`hash` is NULL until the event is numbered), from
// `events` unaliased; the last is the event's tags, hex-encoded and comma-separated (NULL: none).
inline constexpr std::string_view kColumns =
    "position, stream, version, event_id, type, schema_version, timestamp_us, correlation_id, causation_id, "
    "metadata, payload, hash, (SELECT string_agg(encode(convert_to(t.tag, 'UTF8'), 'hex'), ',' ORDER BY t.ord) "
    "FROM event_tags t WHERE t.seq = events.seq) AS tags";
inline constexpr int kColumnCount = 13;

// Row `i` of a result with kColumns from column `first` on.
RecordedEvent FromRow(const pg::Rows& rows, int i, int first = 0);

Uuid ParseUuid(std::string_view text);

// "\x0a1b..." as a bytea element of an array literal (pg::ArrayLiteral escapes the backslash).
std::string ByteaHex(std::string_view bytes);

// Appends `notify` (a SELECT pg_notify(...)) to a pipeline as a transaction of its own that
// commits without waiting for its WAL flush: NOTIFY takes a transaction id, and a synchronous
// commit of it would cost the caller a second flush after its real commit. A notification lost to
// a server crash is made up for by the listeners' polls.
void AddNotify(std::vector<pg::Statement>& pipeline, pg::Statement notify);

// A bigint[] in its text form, "{1,2,3}".
std::vector<std::int64_t> ParseBigintArray(std::string_view text);
// A uuid[] in its text form, "{0190...,0190...}".
std::vector<Uuid> ParseUuidArray(std::string_view text);

}  // namespace cqrs::pg_rows
