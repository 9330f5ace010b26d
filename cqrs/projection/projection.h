// Projection: a read model kept up to date from the event stream, and the runner that drives it.
//
// The runner subscribes to the store from the projection's checkpoint and applies events in
// batches. Each batch is one SQL transaction holding the read-model writes AND the new checkpoint,
// so a crash or a redelivered event can never apply an event twice or skip one.
//
// A handler that keeps failing for an event parks that event's stream: the event and every later
// event of the same stream go to `parked_events` (in order) instead of the read model, and the
// other streams go on. ReplayParked() retries a parked stream in order once the cause is fixed.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/projection/position_waiters.h"
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

// Owns a write connection to the read-model database (SQLite). Thread-safe accessors; one runner
// per projection and database.
class ProjectionRunner final : public Runner {
 public:
  ProjectionRunner(EventStore& store, std::unique_ptr<sql::Database> db, Projection& projection,
                   RunnerOptions options = {});
  ~ProjectionRunner() override;  // stops delivery

  // After a bulk load (RunnerOptions::bulk_load): runs the projection's full Migrate().
  Status FinishBulkLoad();
  // Migrates, loads the checkpoint and starts following the store.
  Status Start();
  // Stops following the store (waits for the batch in flight). position() stays where it got to.
  void Stop() override { subscription_.reset(); }
  // Applies everything up to `target` on the calling thread (no subscription needed): for
  // rebuilds and tools. Returns when position() >= target.
  Status CatchUp(Position target);

  // Last position applied (or parked) and committed.
  Position position() const override { return Position(position_.load(std::memory_order_acquire)); }
  // Waits until position() >= p or the deadline passes; returns whether it got there.
  bool WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const override;
  Status NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                  std::function<void(bool reached)> done) override;
  // Ok, or the error that stopped the runner (a database failure; handler failures park instead).
  Status status() const override;

  Result<std::vector<ParkedStream>> ListParked() override;
  Status ReplayParked(std::string_view stream) override;

 private:
  Status LoadState();
  Status ApplyBatch(std::span<const RecordedEvent> events);
  // The batch in one transaction; false (and nothing applied) when an event failed.
  Result<bool> ApplyBatchWhole(std::span<const RecordedEvent> events);
  // Each event in its own savepoint, retried, and parked when it keeps failing.
  Status ApplyBatchIsolated(std::span<const RecordedEvent> events);
  Status Checkpoint(Position last);
  void Committed(Position last, std::span<const RecordedEvent> events);
  Status ApplyWithRetry(const RecordedEvent& e);

  EventStore& store_;  // outlives the runner
  std::unique_ptr<sql::Database> db_;
  std::optional<sql::Statement> checkpoint_;  // guarded by db_mu_; prepared on first use
  Projection& projection_;  // outlives the runner
  const RunnerOptions options_;

  std::mutex db_mu_;  // serializes use of db_ between the subscription thread and callers
  std::set<std::string, std::less<>> parked_;  // guarded by db_mu_
  std::atomic<std::uint64_t> position_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable advanced_;
  Status status_;  // guarded by mu_
  PositionWaiters waiters_{position_, options_.max_position_waiters};  // after position_
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace cqrs::projection
