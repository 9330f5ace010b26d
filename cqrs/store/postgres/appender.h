// The PostgreSQL store's append transaction: a batch of appends inserted without positions.
//
// One transaction per batch and one round trip: one statement, cqrs_append (schema.cc:
// reads the streams' versions and any stored copies of the events by id, decides each append,
// inserts the new events), prepared once per session, in a transaction of its own (no BEGIN and
// COMMIT around it: two statements fewer for the server per batch). In processes that do
// not lead the sequencing nothing in it is shared by every append of the database (no head row
// lock, no NOTIFY), so concurrent batches commit independently and the server flushes their
// commits together; the sequencer numbers them afterwards (sequencer.h). In the leading
// process the transaction numbers itself (see Commit), which saves the sequencer's commit and a
// thread hop on the way to the answer. The store announces what a batch did after it
// (announcer.h).
//
// Optimistic concurrency stays exact: a version read in the statement may be taken by a
// transaction that commits first; the unique (stream, version) index then fails the insert, and
// the batch is redone (where that append now conflicts, or with `any` follows the winner). Rows
// are inserted in (stream, version) order so that two batches never wait on each other's rows
// crosswise.
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
#include "cqrs/store/postgres/sequencer.h"

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
  std::optional<AppendResult::Original> original;  // a replay: what the first append stored
};

// What one batch's transaction did.
struct AppendCommit {
  // CommitAll only: the condition failed (naming the first match), or the condition's position
  // was past the head; nothing was written.
  std::optional<Status> refused;
  // Per append: where its events are (new, or already stored: an idempotent replay), or why not
  // (kVersionConflict, kAlreadyExists, or the transaction's error).
  std::vector<Result<Placement>> appends;
  // Events the transaction numbered itself (see Commit), and the head after them.
  std::vector<NumberedEvent> numbered;
  std::uint64_t head = 0;
  // Some of `numbered` were committed by earlier transactions (the backlog), not inserted by this one.
  bool numbered_backlog = false;
};

class PgAppender {
 public:
  explicit PgAppender(std::string url);

  // Runs `batch` in one transaction. With `number_token` (the sequencer's fencing token, when
  // this process leads the sequencing) the transaction also numbers, just before its commit, every
  // unnumbered event it sees, its own included (cqrs_sequence_batch: under the head row lock,
  // fenced; the lock is held from there through the commit, on the server, never across a round
  // trip).
  AppendCommit Commit(std::span<const PendingAppend> batch, std::int64_t number_token);

  // The appends of one AppendToStreams: all or nothing (when one fails, every one carries an
  // error), and with `condition` checked first (cqrs_append_if: under advisory locks, against
  // committed events numbered or not).
  AppendCommit CommitAll(std::span<const PendingAppend> appends, const std::optional<AppendCondition>& condition,
                         std::int64_t number_token);

 private:
  Status Connect();
  AppendCommit Run(std::span<const PendingAppend> batch, const std::optional<AppendCondition>* condition,
                   std::int64_t number_token);
  // `condition` null: a batch of independent appends (Commit); else CommitAll's.
  Status TryCommit(std::span<const PendingAppend> batch, const std::optional<AppendCondition>* condition,
                   std::int64_t number_token, AppendCommit& out);

  const std::string url_;
  std::unique_ptr<pg::Connection> conn_;
  bool prepared_ = false;  // statements prepared on conn_'s session
};

}  // namespace cqrs
