// The EventStore on PostgreSQL: the distributed backend (docs/architecture.md, "The service on
// PostgreSQL and Kafka").
//
// Table `events` holds one row per event, unique on (stream, version) and on event_id; `log_head`
// is a single row with the last position, the hash-chain head and the sequencer's fencing epoch.
// An append inserts its events without a position and commits on its own (appender.h):
// appends of every thread and process commit independently and share the server's WAL flushes.
// The gap-free global order and the hash chain are assigned after commit, in batches, by the
// sequencer that leads among all writable store instances (sequencer.h). Append returns
// once its events are numbered, so its AppendResult carries their positions as on the embedded
// log, and a reader that waits for `last_position` anywhere sees the events (read-your-writes).
//
// Readers see numbered events only, and the sequencer makes each batch visible at once after the
// previous one, so a reader of the global order sees a prefix of the positions at every moment:
// it never sees P+1 before P (the gap bug of sequence-numbered event stores, where a reader skips
// a position a slower transaction commits later). Tested in store_test.cc by holding
// transactions open on purpose.
//
// In each process, `append_connections` writer threads batch the pending appends (one transaction
// per batch, one round trip). Head() follows the head NOTIFYs of every writable process (sent
// within 5 ms of a numbering, within 1 ms when another process waits for its positions; a slow
// poll is the safety net), so readers wake within milliseconds of a numbering anywhere. A
// read-only store may be opened on a streaming replica: it sees the primary's global order as
// replicated (a prefix of it, by the same argument) and polls the head, as a standby cannot LISTEN.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cqrs/store/event_store.h"

namespace cqrs {

struct PostgresStoreOptions {
  std::string url;               // postgresql://user@host:port/db
  std::size_t max_batch = 1024;  // appends in one transaction, at most
  int append_connections = 4;    // writer threads (one connection each) committing concurrently
  int read_connections = 8;      // idle connections kept for reads: size it to the threads that read at once
  // Observer: the number of appends in each transaction the writer commits (a batch-size metric).
  // Runs on the writer thread; must be quick and must not call the store.
  std::function<void(std::size_t appends)> on_batch;
  // NOTIFY channels (every process on one database must use the same): the sequencer announces
  // each new head on `head_channel`; appenders wake a leader in another process on `wake_channel`.
  std::string head_channel = "cqrs_log_head";
  std::string wake_channel = "cqrs_log_unsequenced";
  // Who numbers committed events (measured against each other in docs/benchmarks.md):
  //   kAnyFree       every append transaction, of every process, numbers the committed backlog
  //                  and itself just before it commits if the head row is free at that moment
  //                  (else it commits unnumbered, for the next numbering); the sequencer numbers
  //                  what is left when appends pause;
  //   kLeaderInline  only the append transactions of the process that leads the sequencing
  //                  (under its fencing token, waiting for the head row; one writer);
  //   kSequencer     only the sequencer's own transactions, after the appends commit.
  enum class Numbering { kAnyFree, kLeaderInline, kSequencer };
  Numbering numbering = Numbering::kAnyFree;
  // Called once, on the store's listener thread, when the head read from the database is below
  // one this store saw before (`seen`, `now`): the store went back in time while this process ran
  // (a point-in-time restore, a failover to a replica without the last commits). Whatever this
  // process consumed may now be ahead of the store (checkpoint_check.h); the owner should stop
  // its consumers (adsd exits). Unset: the store carries on, its head staying where it was until
  // the database passes it again.
  std::function<void(Position seen, Position now)> on_went_back;
  // No appends (they fail with kUnavailable): for processes that only read. The URL may then be
  // a read replica (a hot standby): the schema is checked instead of migrated, and the head is
  // polled (a standby cannot LISTEN) every `replica_poll`.
  bool read_only = false;
  std::chrono::milliseconds replica_poll{10};
};

// Connects, applies the schema migrations, and starts the writer and the listener.
Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(const PostgresStoreOptions& options);

// The row hash of the PostgreSQL store's chain: SHA-256(previous || the event's fields).
Sha256Digest PostgresChainHash(const Sha256Digest& previous, const RecordedEvent& e);

}  // namespace cqrs
