// The PostgreSQL store's append transaction: a batch of appends inserted without positions.
//
// One transaction per batch, two round trips (pipeline mode, statements prepared once per
// session): read the streams' versions and any stored copies of the events (by id), then insert
// the new events and commit. Nothing in it is shared by every append of the database (no head row
// lock, no NOTIFY), so concurrent batches commit independently and the server flushes their
// commits together. The sequencer numbers them afterwards (postgres_sequencer.h).
//
// Optimistic concurrency stays exact: a version read here may be taken by a transaction that
// commits first; the unique (stream, version) index then fails the insert, and the batch is
// redone from a fresh read (where that append now conflicts, or with `any` follows the winner).
// Rows are inserted in (stream, version) order so that two batches never wait on each other's
// rows crosswise.
//
// Thread-safety: one PgAppender per thread (it owns one connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cqrs/pg/connection.h"
#include "cqrs/store/event_store.h"

namespace cqrs {

// One append waiting for a writer.
struct PendingAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<EventData> events;
  std::function<void(Result<AppendResult>)> done;
};

// Where an append's events are stored: their versions, and per event its `seq` and its position
// (0 while it is not numbered yet).
struct Placement {
  StreamVersion first_version;
  std::vector<std::int64_t> seqs;
  std::vector<std::uint64_t> positions;
  bool idempotent_replay = false;
};

class PgAppender {
 public:
  PgAppender(std::string url, std::string wake_channel);

  // Runs `batch` in one transaction: per append, where its events are (new, or already stored:
  // an idempotent replay), or why not (kVersionConflict, kAlreadyExists, or the transaction's
  // error). `wake_sequencer`: announce the commit on the wake channel (when this process does
  // not lead the sequencing), in a transaction of its own after the commit.
  std::vector<Result<Placement>> Commit(std::span<const PendingAppend> batch, bool wake_sequencer);

 private:
  Status Connect();
  Status TryCommit(std::span<const PendingAppend> batch, bool wake_sequencer, std::vector<Result<Placement>>& out);

  const std::string url_;
  const std::string wake_channel_;
  std::unique_ptr<pg::Connection> conn_;
  bool prepared_ = false;  // statements prepared on conn_'s session
};

}  // namespace cqrs
