// PgProjection: a read model kept in PostgreSQL, and PgProjectionRunner, which keeps it up to date.
//
// Where a SQLite projection runs its statements one by one inside the runner's transaction, a
// PostgreSQL projection *emits* them: Apply() turns an event into statements (prepared once per
// connection) and the runner sends a whole batch, its checkpoint and the commit in two round
// trips (pipeline mode). Network round trips, not statement execution, are what a per-event
// protocol would pay for.
//
// Several processes may run the same projection on the same database (read processes that
// share a read model): exactly one applies events, the holder of the projection's session
// advisory lock; the others follow its checkpoint (LISTEN/NOTIFY, and a poll) so that their
// position() — what read-your-writes waits on — is what their queries see. When the leader's
// connection ends, a follower takes over from the committed checkpoint.
//
// The invariants of projection.h hold: each batch is one transaction with its checkpoint; a
// redelivered event is skipped; an event that keeps failing parks its stream. A lost connection
// is not an event failure: the runner reconnects and resumes from the committed checkpoint.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cqrs/core/loop_status.h"
#include "cqrs/core/mutex.h"
#include "cqrs/pg/connection.h"
#include "cqrs/pg/migrations.h"
#include "cqrs/pg/pool.h"
#include "cqrs/projection/position_waiters.h"
#include "cqrs/projection/runner.h"
#include "cqrs/store/checkpoint_check.h"
#include "cqrs/store/event_store.h"

namespace cqrs::projection {

class PgProjection {
 public:
  virtual ~PgProjection() = default;
  // Stable name: the checkpoint's key and the migrations' component.
  virtual std::string_view name() const = 0;
  // The read model's schema, versioned (applied at start by pg::Migrate).
  virtual std::span<const pg::Migration> Migrations() const = 0;
  // Statements prepared on each connection the runner opens: (name, SQL).
  virtual std::vector<std::pair<std::string, std::string>> PreparedStatements() const = 0;
  // Appends to `out` the statements that apply `event` (none for events it ignores).
  // Deterministic: a rebuild from the log gives the same rows. An error means this event cannot
  // be applied (say, a payload it cannot read): the runner parks its stream.
  virtual Status Apply(const RecordedEvent& event, std::vector<pg::Statement>& out) const = 0;
  // Statements that empty the read model, for a rebuild.
  virtual std::vector<std::string> Reset() const = 0;
};

struct PgRunnerOptions {
  std::string url;  // postgresql://... of the read-model database
  std::size_t max_batch = 1000;
  int attempts_before_parking = 3;
  std::chrono::milliseconds retry_backoff{10};  // doubled after each failed attempt
  // How often a follower tries to take over, and re-reads the checkpoint in case a notification
  // was missed.
  std::chrono::milliseconds follow_interval{500};
  // Called after each batch this process committed (e.g. to measure the read model's lag).
  std::function<void(std::span<const RecordedEvent>)> on_committed;
  // Reads waiting for a position at once (NotifyAt); more are refused.
  std::size_t max_position_waiters = 4096;
  // A checkpoint found ahead of the store at Start() (checkpoint_check.h: the store went back in
  // time): kRefuse fails Start() with kCorruption naming the read model and where it stands;
  // kRepair empties the read model (the projection's Reset(), its parked events, its checkpoint)
  // so that it is rebuilt from the store, and tells `on_repaired`.
  AheadPolicy on_ahead = AheadPolicy::kRefuse;
  std::function<void(const std::string&)> on_repaired;
};

class PgProjectionRunner final : public Runner {
 public:
  // Migrates the runner's and the projection's schema, holds the checkpoint (position and hash of
  // the last event applied) against the store (options.on_ahead), then starts following the store
  // (as leader or follower). Fails if the database cannot be reached at start.
  static Result<std::unique_ptr<PgProjectionRunner>> Start(EventStore& store, const PgProjection& projection,
                                                           PgRunnerOptions options);
  ~PgProjectionRunner() override;

  void Stop() override;
  Position position() const override { return Position(position_.load(std::memory_order_acquire)); }
  bool WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const override EXCLUDES(mu_);
  Status NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                  std::function<void(bool reached)> done) override;
  // Ok while the read-model database answers; the last error while it does not.
  Status status() const override;
  // Whether this process applies the events now (holds the projection's lock).
  bool leader() const { return leader_.load(std::memory_order_acquire); }

  Result<std::vector<ParkedStream>> ListParked() override;
  // Only on the leader (kFailedPrecondition elsewhere: the leader owns the parked set).
  Status ReplayParked(std::string_view stream) override EXCLUDES(db_mu_);
  // Empties the read model and applies the whole log again, in one transaction: readers keep
  // seeing the old rows until it commits, then the new ones. Only on the leader. Returns the
  // number of events applied.
  Result<std::uint64_t> Rebuild() EXCLUDES(db_mu_);

 private:
  PgProjectionRunner(EventStore& store, const PgProjection& projection, PgRunnerOptions options);
  // At start, before any process of this start applies: the checkpoint against the store.
  static Status CheckNotAhead(EventStore& store, const PgProjection& projection, pg::Connection& conn,
                              const PgRunnerOptions& options);
  void Run() EXCLUDES(db_mu_);
  // Whether conn_ is open and usable.
  bool Connected() EXCLUDES(db_mu_);
  // Opens conn_, prepares statements and LISTENs. Not leader afterwards.
  Status Connect() EXCLUDES(db_mu_);
  void Disconnect() EXCLUDES(db_mu_);
  // Takes the lock if free; as leader, loads the checkpoint and the parked set.
  Status TryLead() EXCLUDES(db_mu_);
  // A follower's wait: notifications for up to `wait`, and the committed checkpoint.
  Status Follow(std::chrono::milliseconds wait) EXCLUDES(db_mu_);
  Status RefreshFromCheckpoint() EXCLUDES(db_mu_);
  Status ApplyBatch(std::span<const RecordedEvent> events) REQUIRES(db_mu_);
  // Inside an open transaction: applies `events` after `done`, whole when it can, else event by
  // event with retries, parking what keeps failing. `last` becomes the last position covered.
  Status ApplyInTransaction(std::span<const RecordedEvent> events, Position done, Position& last,
                            std::vector<std::string>& newly_parked) REQUIRES(db_mu_);
  // Applies one event in a savepoint, retried. `failure` is Ok when it applied, else the event's
  // error (park it); the returned Status is a database failure (nothing to park: retry later).
  Status ApplyWithRetry(const RecordedEvent& e, Status& failure) REQUIRES(db_mu_);
  // The statements that record `last` (position and hash) as the checkpoint, tell the
  // followers, and commit.
  std::vector<pg::Statement> CommitStatements(const RecordedEvent& last) const;
  void Advance(Position p) EXCLUDES(mu_);
  void SetStatus(Status st);
  void Pause(std::chrono::milliseconds d) const;

  EventStore& store_;               // outlives the runner
  const PgProjection& projection_;  // outlives the runner
  const PgRunnerOptions options_;
  const std::int64_t lock_key_;
  pg::Pool reads_;  // ListParked

  Mutex db_mu_;                                              // the runner thread and the admin calls
  std::unique_ptr<pg::Connection> conn_ GUARDED_BY(db_mu_);  // the session holding the lock when leader
  std::set<std::string, std::less<>> parked_ GUARDED_BY(db_mu_);

  std::atomic<bool> leader_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> position_{0};
  mutable Mutex mu_ ACQUIRED_AFTER(db_mu_);
  mutable CondVar advanced_;
  LoopStatus status_;                                                  // its own lock
  PositionWaiters waiters_{position_, options_.max_position_waiters};  // after position_
  std::thread thread_;
};

}  // namespace cqrs::projection
