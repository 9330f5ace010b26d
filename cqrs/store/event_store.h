// EventStore: streams of events with optimistic concurrency over one global order.
//
// The contract every backend keeps (embedded log, PostgreSQL):
// - Append(stream, expected, events) is atomic: all events or none, at consecutive stream versions
//   and increasing global positions. It returns only once the events are durable.
// - A failed precondition is kVersionConflict and changes nothing.
// - Re-appending events whose ids are already in the stream, at the same place, returns the
//   original result (same versions and positions, `idempotent_replay`, and the first event's
//   stored timestamp and metadata in `original`) and writes nothing: a retried request is safe.
//   The same ids with a different count or order is kAlreadyExists.
// - Readers see only durable events, in position order; no event is ever skipped.
// - AppendToStreams appends to several streams at once, each with its own expected version, all
//   or nothing, with consecutive positions; a failed check names the stream. With a condition
//   (query.h) it also fails, kVersionConflict naming the first matching event, when an event
//   matching the condition's query has a position after the condition's. The condition is checked
//   at the point where the store orders appends (embedded: while staging into the group commit;
//   PostgreSQL: under per-tag and per-type advisory locks and against every committed event,
//   numbered or not), so two conditional appends that could each invalidate the other's
//   decision never both succeed, and appends whose queries share nothing never wait on each other.
// - Bad input (query.h limits, a condition past the head, a stream named twice) is
//   kInvalidArgument and appends nothing.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/store/event.h"
#include "cqrs/store/expected_version.h"
#include "cqrs/store/query.h"

namespace cqrs {

struct AppendResult {
  StreamVersion first_version;  // version of the first event appended
  StreamVersion last_version;   // the stream's version after the append
  Position first_position;
  Position last_position;
  bool idempotent_replay = false;  // true when the events were already there (nothing written)
  // On an idempotent replay: the first event as the original append stored it. The retry carries
  // its own copy of the event, which may differ (a client reusing an idempotency key for another
  // request); with this the caller can tell without reading the stream again.
  struct Original {
    TimestampUs timestamp_us = 0;
    std::string metadata;
  };
  std::optional<Original> original;
};

// One stream's part of a multi-stream append. The views must outlive the call.
struct StreamAppend {
  std::string_view stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::span<const EventData> events;
};

struct MultiAppendResult {
  std::vector<AppendResult> streams;  // in the order of the request
  Position first_position;            // of the whole append: its positions are consecutive
  Position last_position;
  bool idempotent_replay = false;  // every stream's events were already there: nothing written
};

// What Read(query, ...) found: matching events in position order, and the position to use as
// AppendCondition::after for a decision made on them. When the read was complete (fewer than
// `max` events), `head` is the store's head as of the read: nothing else matched up to it. When it
// was cut at `max`, `head` is the last event's position: read on from there.
struct QueryResult {
  std::vector<RecordedEvent> events;
  Position head;
};

// A live subscription; destroying it stops delivery (waits for the handler in flight to return).
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Ok while running; the handler's error or a read error once delivery stopped because of it.
  virtual Status status() const = 0;
};

// Receives events in position order, in batches. Returning a non-ok Status stops the subscription.
using EventBatchHandler = std::function<Status(std::span<const RecordedEvent>)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  virtual Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                                      std::span<const EventData> events) = 0;

  // Several streams in one atomic append (see the contract above), optionally conditional. At most
  // kMaxStreamsPerAppend streams, each named once. An idempotent replay of the whole append
  // returns the first result, whatever the condition says now (the retried events would match it).
  virtual Result<MultiAppendResult> AppendToStreams(std::span<const StreamAppend> appends,
                                                    const std::optional<AppendCondition>& condition) = 0;

  // A conditional append to one stream.
  Result<AppendResult> AppendIf(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                                const AppendCondition& condition) {
    const StreamAppend one{stream, expected, events};
    ASSIGN_OR_RETURN(MultiAppendResult r, AppendToStreams(std::span(&one, 1), condition));
    return std::move(r.streams.front());
  }

  // Events matching `query` with position > after, at most `max`, in position order. The cost
  // grows with the events matched, not with the log. kInvalidArgument for a bad query.
  virtual Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const = 0;

  // Same as Append, but returns at once; `done` runs when the outcome is known, on a store thread.
  // `done` must not block.
  virtual void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                           std::function<void(Result<AppendResult>)> done) = 0;

  // Events of `stream` with version >= from, at most `max`. An unknown stream reads as empty.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                        std::size_t max) const = 0;

  // Events with position >= from, at most `max`, in position order.
  virtual Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const = 0;

  // Current version of `stream` (0 if it does not exist), counting durable events only: the
  // version an `exact` append must name. An error (kUnavailable: the store's server does not
  // answer) is never reported as an empty stream.
  virtual Result<StreamVersion> GetStreamVersion(std::string_view stream) const = 0;

  // Last durable position (0 when empty).
  virtual Position Head() const = 0;

  // Waits until Head() >= p or the deadline passes; returns whether it got there.
  virtual bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const = 0;

  // Ok when the store can serve; kUnavailable while its server is unreachable (readiness).
  virtual Status Health() const { return Status::Ok(); }

  // Delivers every event with position >= from, then new ones as they become durable, to
  // `handler` in batches of at most `max_batch`, on a thread owned by the subscription.
  virtual Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                          EventBatchHandler handler) = 0;

  // As Subscribe, but delivers only the events matching `query` (read with Read(query, ...)).
  virtual Result<std::unique_ptr<Subscription>> SubscribeToQuery(Query query, Position from, std::size_t max_batch,
                                                                 EventBatchHandler handler) = 0;
};

}  // namespace cqrs
