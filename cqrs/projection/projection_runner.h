// ProjectionRunner: drives a Projection (projection.h) into its SQLite database, each batch in one
// transaction with its checkpoint.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cqrs/core/mutex.h"
#include "cqrs/projection/position_waiters.h"
#include "cqrs/projection/projection.h"
#include "cqrs/projection/runner.h"
#include "cqrs/store/checkpoint_check.h"

namespace cqrs::projection {

// The checkpoint `projection` has in a read-model database (table projection_checkpoints: the
// position and the hash of the last event applied, committed with that event's rows); nullopt
// when it has none. A file from before hashes were recorded gives the position alone.
Result<std::optional<ConsumerCheckpoint>> ReadCheckpoint(sql::Database& db, std::string_view projection);

// Owns a write connection to the read-model database (SQLite). Thread-safe accessors; one runner
// per projection and database.
class ProjectionRunner final : public Runner {
 public:
  ProjectionRunner(EventStore& store, std::unique_ptr<sql::Database> db, Projection& projection,
                   RunnerOptions options = {});
  ~ProjectionRunner() override;  // stops delivery

  // After a bulk load (RunnerOptions::bulk_load): runs the projection's full Migrate().
  Status FinishBulkLoad() EXCLUDES(db_mu_);
  // Migrates, loads the checkpoint and starts following the store.
  Status Start() EXCLUDES(db_mu_);
  // Stops following the store (waits for the batch in flight). position() stays where it got to.
  void Stop() override { subscription_.reset(); }
  // Applies everything up to `target` on the calling thread (no subscription needed): for
  // rebuilds and tools. Returns when position() >= target.
  Status CatchUp(Position target) EXCLUDES(db_mu_);

  // Last position applied (or parked) and committed.
  Position position() const override { return Position(position_.load(std::memory_order_acquire)); }
  // Waits until position() >= p or the deadline passes; returns whether it got there.
  bool WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const override EXCLUDES(mu_);
  Status NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                  std::function<void(bool reached)> done) override;
  // Ok, or the error that stopped the runner (a database failure; handler failures park instead).
  Status status() const override EXCLUDES(mu_);

  Result<std::vector<ParkedStream>> ListParked() override EXCLUDES(db_mu_);
  Status ReplayParked(std::string_view stream) override EXCLUDES(db_mu_);

 private:
  Status LoadState() EXCLUDES(db_mu_);
  Status ApplyBatch(std::span<const RecordedEvent> events) EXCLUDES(db_mu_);
  // The batch in one transaction; false (and nothing applied) when an event failed.
  Result<bool> ApplyBatchWhole(std::span<const RecordedEvent> events) REQUIRES(db_mu_);
  // Each event in its own savepoint, retried, and parked when it keeps failing.
  Status ApplyBatchIsolated(std::span<const RecordedEvent> events) REQUIRES(db_mu_);
  // Records `last` (its position and hash) as the checkpoint, in the open transaction.
  Status Checkpoint(const RecordedEvent& last) REQUIRES(db_mu_);
  void Committed(Position last, std::span<const RecordedEvent> events);
  Status ApplyWithRetry(const RecordedEvent& e) REQUIRES(db_mu_);

  EventStore& store_;  // outlives the runner
  std::unique_ptr<sql::Database> db_ PT_GUARDED_BY(db_mu_);
  std::optional<sql::Statement> checkpoint_ GUARDED_BY(db_mu_);  // prepared on first use
  Projection& projection_;                                       // outlives the runner
  const RunnerOptions options_;

  Mutex db_mu_;  // serializes use of db_ between the subscription thread and callers
  std::set<std::string, std::less<>> parked_ GUARDED_BY(db_mu_);
  std::atomic<std::uint64_t> position_{0};
  mutable Mutex mu_;
  mutable CondVar advanced_;  // position_ moved or status_ set
  Status status_ GUARDED_BY(mu_);
  PositionWaiters waiters_{position_, options_.max_position_waiters};  // after position_
  std::unique_ptr<Subscription> subscription_;                         // the owner's: Start(), Stop(), the destructor
};

}  // namespace cqrs::projection
