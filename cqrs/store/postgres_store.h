// The EventStore on PostgreSQL: the distributed backend (docs/architecture.md, "The service on PostgreSQL and Kafka").
//
// Table `events` holds one row per event, unique on (stream, version) and on event_id; `log_head`
// is a single row with the last position and the hash-chain head. Global order without gaps:
// every append transaction locks the `log_head` row before it reads stream versions and assigns
// positions, and PostgreSQL releases that lock only after the transaction is visible. So the
// transaction that takes positions P+1.. commits after the one that took ..P: a reader of the
// global order sees a prefix of the positions at every moment, never P+1 before P (the gap bug
// of sequence-numbered event stores, where a reader skips a position a slower transaction
// commits later). Tested in postgres_store_test.cc by holding a transaction open on purpose.
//
// The lock serializes appends, so one writer thread per process batches every pending append
// into one transaction (two round trips, one fsync), as the embedded log's group commit does.
// Appends from several processes serialize on the lock and each keeps its own batching.
//
// Head() follows other processes' appends through LISTEN/NOTIFY (and a slow poll as a safety
// net), so readers wake within a round trip of a commit anywhere. A read-only store may be opened
// on a streaming replica: it sees the primary's global order as replicated (a prefix of it, by
// the same argument) and polls the head, as a standby cannot LISTEN.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cqrs/store/event_store.h"

namespace cqrs {

struct PostgresStoreOptions {
  std::string url;          // postgresql://user@host:port/db
  std::size_t max_batch = 1024;  // appends in one transaction, at most
  int read_connections = 8;      // pooled connections for reads
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
