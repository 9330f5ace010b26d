// Projection: a read model in SQLite kept up to date from the event stream, and the options of
// the runner that drives it (projection_runner.h).
//
// The runner subscribes to the store from the projection's checkpoint and applies events in
// batches. Each batch is one SQL transaction holding the read-model writes AND the new checkpoint,
// so a crash or a redelivered event can never apply an event twice or skip one.
//
// A handler that keeps failing for an event parks that event's stream: the event and every later
// event of the same stream go to `parked_events` (in order) instead of the read model, and the
// other streams go on. ReplayParked() retries a parked stream in order once the cause is fixed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/projection/runner.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/store/event_store.h"

namespace cqrs::projection {

class Projection {
 public:
  virtual ~Projection() = default;
  // Stable name: the checkpoint's key.
  virtual std::string_view name() const = 0;
  // Creates the read model's tables and indexes if missing. Idempotent.
  virtual Status Migrate(sql::Database& db) = 0;
  // For a rebuild into an empty database: the tables only. Secondary indexes come afterwards from
  // Migrate(), built once by sorting, which is much faster than updating them row by row.
  virtual Status MigrateForBulkLoad(sql::Database& db) { return Migrate(db); }
  // Applies one event, inside the runner's transaction. Must be deterministic: a rebuild from the
  // log gives the same rows. Events it does not care about are ignored (return Ok).
  virtual Status Apply(sql::Database& db, const RecordedEvent& event) = 0;
  // The runner is about to close `db`: drop anything tied to it (prepared statements).
  virtual void Closing(sql::Database& db) { (void)db; }
};

struct RunnerOptions {
  std::size_t max_batch = 1000;
  int attempts_before_parking = 3;
  std::chrono::milliseconds retry_backoff{10};  // doubled after each failed attempt
  // Called after each batch is committed to the read model (e.g. to measure its lag).
  std::function<void(std::span<const RecordedEvent>)> on_committed;
  // Commits at most this often while keeping up (a full batch goes at once): under load each
  // commit then carries many events, and a commit's fixed cost is most of a small batch's. The
  // read model's lag grows by at most this much.
  std::chrono::microseconds min_commit_interval{0};
  // A rebuild into an empty database: MigrateForBulkLoad() first; FinishBulkLoad() completes it.
  bool bulk_load = false;
  // Reads waiting for a position at once (NotifyAt); more are refused.
  std::size_t max_position_waiters = 4096;
};

}  // namespace cqrs::projection
