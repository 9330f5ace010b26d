#include "cqrs/projection/projection_runner.h"

#include <algorithm>
#include <thread>

namespace cqrs::projection {

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS projection_checkpoints(
  projection TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  hash BLOB);
CREATE TABLE IF NOT EXISTS parked_events(
  projection TEXT NOT NULL,
  position INTEGER NOT NULL,
  stream TEXT NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (projection, position));
CREATE INDEX IF NOT EXISTS parked_events_by_stream ON parked_events(projection, stream, position);
)sql";

// Files made before checkpoints carried the hash of their last event get the column (NULL until
// the next commit: such a checkpoint is held against the store by its position alone).
Status AddCheckpointHash(sql::Database& db) {
  ASSIGN_OR_RETURN(auto has,
                   db.Prepare("SELECT 1 FROM pragma_table_info('projection_checkpoints') WHERE name = 'hash'"));
  ASSIGN_OR_RETURN(bool there, has.Step());
  if (there) return Status::Ok();
  return db.Exec("ALTER TABLE projection_checkpoints ADD COLUMN hash BLOB");
}

Sha256Digest DigestOf(std::string_view bytes) {
  Sha256Digest d{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), d.size()), d.begin());
  return d;
}

}  // namespace

Result<std::optional<ConsumerCheckpoint>> ReadCheckpoint(sql::Database& db, std::string_view projection) {
  ASSIGN_OR_RETURN(auto table, db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                          "name = 'projection_checkpoints'"));
  ASSIGN_OR_RETURN(bool exists, table.Step());
  if (!exists) return std::optional<ConsumerCheckpoint>();
  ASSIGN_OR_RETURN(auto has,
                   db.Prepare("SELECT 1 FROM pragma_table_info('projection_checkpoints') WHERE name = 'hash'"));
  ASSIGN_OR_RETURN(bool with_hash, has.Step());
  ASSIGN_OR_RETURN(auto q,
                   db.Prepare(with_hash ? "SELECT position, hash FROM projection_checkpoints WHERE projection = ?"
                                        : "SELECT position, NULL FROM projection_checkpoints WHERE projection = ?"));
  q.Bind(1, projection);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<ConsumerCheckpoint>();
  ConsumerCheckpoint cp{Position(static_cast<std::uint64_t>(q.Int(0))), std::nullopt};
  if (!q.IsNull(1) && q.Text(1).size() == Sha256Digest().size()) cp.hash = DigestOf(q.Text(1));
  return std::optional<ConsumerCheckpoint>(cp);
}

ProjectionRunner::ProjectionRunner(EventStore& store, std::unique_ptr<sql::Database> db, Projection& projection,
                                   RunnerOptions options)
    : store_(store), db_(std::move(db)), projection_(projection), options_(options) {}

ProjectionRunner::~ProjectionRunner() {
  subscription_.reset();
  MutexLock lock(db_mu_);
  projection_.Closing(*db_);
}

Status ProjectionRunner::LoadState() {
  MutexLock lock(db_mu_);
  RETURN_IF_ERROR(db_->Exec(kSchema));
  RETURN_IF_ERROR(AddCheckpointHash(*db_));
  RETURN_IF_ERROR(options_.bulk_load ? projection_.MigrateForBulkLoad(*db_) : projection_.Migrate(*db_));
  ASSIGN_OR_RETURN(auto cp, db_->Prepare("SELECT position FROM projection_checkpoints WHERE projection = ?"));
  cp.Bind(1, projection_.name());
  ASSIGN_OR_RETURN(bool row, cp.Step());
  position_.store(row ? static_cast<std::uint64_t>(cp.Int(0)) : 0, std::memory_order_release);
  waiters_.Notify();
  ASSIGN_OR_RETURN(auto parked, db_->Prepare("SELECT DISTINCT stream FROM parked_events WHERE projection = ?"));
  parked.Bind(1, projection_.name());
  while (true) {
    ASSIGN_OR_RETURN(bool more, parked.Step());
    if (!more) break;
    parked_.emplace(parked.Text(0));
  }
  return Status::Ok();
}

Status ProjectionRunner::Start() {
  RETURN_IF_ERROR(LoadState());
  ASSIGN_OR_RETURN(
      subscription_,
      store_.Subscribe(position().next(), options_.max_batch, [this](std::span<const RecordedEvent> batch) {
        const auto began = std::chrono::steady_clock::now();
        Status st = ApplyBatch(batch);
        if (!st.ok()) {
          MutexLock lock(mu_);
          status_ = st;
        }
        advanced_.SignalAll();
        // Let the next batch gather (see RunnerOptions).
        if (st.ok() && batch.size() < options_.max_batch) {
          std::this_thread::sleep_until(began + options_.min_commit_interval);
        }
        return st;
      }));
  return Status::Ok();
}

Status ProjectionRunner::FinishBulkLoad() {
  MutexLock lock(db_mu_);
  return projection_.Migrate(*db_);
}

Status ProjectionRunner::CatchUp(Position target) {
  if (position().value() == 0 && !subscription_) RETURN_IF_ERROR(LoadState());
  while (position() < target) {
    ASSIGN_OR_RETURN(auto batch, store_.ReadAll(position().next(), options_.max_batch));
    if (batch.empty()) return Unavailable("the store has no event at " + std::to_string(position().next().value()));
    RETURN_IF_ERROR(ApplyBatch(batch));
    advanced_.SignalAll();
  }
  return Status::Ok();
}

Status ProjectionRunner::ApplyWithRetry(const RecordedEvent& e) {
  auto backoff = options_.retry_backoff;
  Status st;
  for (int attempt = 1; attempt <= options_.attempts_before_parking; ++attempt) {
    RETURN_IF_ERROR(db_->Exec("SAVEPOINT apply_event"));
    st = projection_.Apply(*db_, e);
    if (st.ok()) return db_->Exec("RELEASE apply_event");
    RETURN_IF_ERROR(db_->Exec("ROLLBACK TO apply_event; RELEASE apply_event"));
    if (attempt < options_.attempts_before_parking) {
      std::this_thread::sleep_for(backoff);  // backoff before a retry, not a wait for a result
      backoff *= 2;
    }
  }
  return st;
}

Status ProjectionRunner::ApplyBatch(std::span<const RecordedEvent> events) {
  MutexLock lock(db_mu_);
  // Almost always every event applies: then the batch is one transaction with no per-event
  // savepoint (a third of the apply cost). Only when an event fails, or a stream is parked, is
  // the batch redone event by event, each in its own savepoint, to retry and park precisely.
  const bool touches_parked = !parked_.empty() && std::any_of(events.begin(), events.end(), [&](const auto& e) {
    db_mu_.AssertHeld();  // any_of calls it here, under the lock
    return parked_.contains(e.stream);
  });
  if (!touches_parked) {
    ASSIGN_OR_RETURN(bool applied, ApplyBatchWhole(events));
    if (applied) return Status::Ok();
  }
  return ApplyBatchIsolated(events);
}

Result<bool> ProjectionRunner::ApplyBatchWhole(std::span<const RecordedEvent> events) {
  const Position done = position();
  ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(*db_));
  const RecordedEvent* last = nullptr;
  for (const RecordedEvent& e : events) {
    if (e.position <= done) continue;
    last = &e;
    if (!projection_.Apply(*db_, e).ok()) return false;  // rolled back: redone event by event
  }
  if (last == nullptr) return true;
  RETURN_IF_ERROR(Checkpoint(*last));
  RETURN_IF_ERROR(tx.Commit());
  Committed(last->position, events);
  return true;
}

Status ProjectionRunner::Checkpoint(const RecordedEvent& last) {
  if (!checkpoint_) {
    ASSIGN_OR_RETURN(checkpoint_,
                     db_->Prepare("INSERT INTO projection_checkpoints(projection, position, hash) VALUES (?, ?, ?) "
                                  "ON CONFLICT(projection) DO UPDATE SET position = excluded.position, "
                                  "hash = excluded.hash"));
  }
  checkpoint_->Reset();
  checkpoint_->Bind(1, projection_.name())
      .Bind(2, static_cast<std::int64_t>(last.position.value()))
      .BindBlob(3, std::string_view(reinterpret_cast<const char*>(last.hash.data()), last.hash.size()));
  return checkpoint_->Run();
}

void ProjectionRunner::Committed(Position last, std::span<const RecordedEvent> events) {
  position_.store(last.value(), std::memory_order_release);
  waiters_.Notify();
  if (options_.on_committed) options_.on_committed(events);
}

Status ProjectionRunner::ApplyBatchIsolated(std::span<const RecordedEvent> events) {
  // Redelivery after a crash or a racing CatchUp: skip what the checkpoint already covers.
  const Position done = position();
  ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(*db_));
  ASSIGN_OR_RETURN(auto park,
                   db_->Prepare("INSERT INTO parked_events(projection, position, stream, error) VALUES (?, ?, ?, ?)"));
  const RecordedEvent* last = nullptr;
  std::vector<std::string> newly_parked;  // joins parked_ only once the transaction commits
  auto is_parked = [&](const std::string& s) REQUIRES(db_mu_) {
    return parked_.contains(s) || std::find(newly_parked.begin(), newly_parked.end(), s) != newly_parked.end();
  };
  for (const RecordedEvent& e : events) {
    if (e.position <= done) continue;
    last = &e;
    const bool already_parked = is_parked(e.stream);
    Status st = already_parked ? Unavailable("stream is parked") : ApplyWithRetry(e);
    if (st.ok()) continue;
    park.Reset();
    park.Bind(1, projection_.name())
        .Bind(2, static_cast<std::int64_t>(e.position.value()))
        .Bind(3, e.stream)
        .Bind(4, st.ToString());
    RETURN_IF_ERROR(park.Run());
    if (!already_parked) newly_parked.push_back(e.stream);
  }
  if (last == nullptr) return Status::Ok();
  RETURN_IF_ERROR(Checkpoint(*last));
  RETURN_IF_ERROR(tx.Commit());
  for (auto& s : newly_parked) parked_.insert(std::move(s));
  Committed(last->position, events);
  return Status::Ok();
}

bool ProjectionRunner::WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const {
  if (position() >= p) return true;
  MutexLock lock(mu_);
  while (position() < p && status_.ok()) {
    if (!advanced_.WaitUntil(mu_, deadline)) break;
  }
  return position() >= p;
}

Status ProjectionRunner::NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                                  std::function<void(bool reached)> done) {
  return waiters_.Add(p, deadline, std::move(done));
}

Status ProjectionRunner::status() const {
  MutexLock lock(mu_);
  return status_;
}

Result<std::vector<ParkedStream>> ProjectionRunner::ListParked() {
  MutexLock lock(db_mu_);
  ASSIGN_OR_RETURN(
      auto q, db_->Prepare("SELECT stream, MIN(position), COUNT(*), "
                           "(SELECT error FROM parked_events p2 WHERE p2.projection = p.projection AND p2.stream = "
                           "p.stream "
                           " ORDER BY position LIMIT 1) "
                           "FROM parked_events p WHERE projection = ? GROUP BY stream ORDER BY MIN(position)"));
  q.Bind(1, projection_.name());
  std::vector<ParkedStream> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(
        {std::string(q.Text(0)), Position(static_cast<std::uint64_t>(q.Int(1))), std::string(q.Text(3)), q.Int(2)});
  }
  return out;
}

Status ProjectionRunner::ReplayParked(std::string_view stream) {
  MutexLock lock(db_mu_);
  if (!parked_.contains(stream)) return NotFound("stream " + std::string(stream) + " is not parked");
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT position FROM parked_events WHERE projection = ? "
                                        "AND stream = ? ORDER BY position"));
  q.Bind(1, projection_.name()).Bind(2, stream);
  std::vector<Position> positions;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    positions.push_back(Position(static_cast<std::uint64_t>(q.Int(0))));
  }
  ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(*db_));
  for (Position p : positions) {
    ASSIGN_OR_RETURN(auto events, store_.ReadAll(p, 1));
    if (events.empty()) return Internal("parked event at " + std::to_string(p.value()) + " is gone");
    Status st = ApplyWithRetry(events.front());
    if (!st.ok()) return st;  // the transaction rolls back: the stream stays parked
  }
  ASSIGN_OR_RETURN(auto del, db_->Prepare("DELETE FROM parked_events WHERE projection = ? AND stream = ?"));
  del.Bind(1, projection_.name()).Bind(2, stream);
  RETURN_IF_ERROR(del.Run());
  RETURN_IF_ERROR(tx.Commit());
  parked_.erase(parked_.find(stream));
  return Status::Ok();
}

}  // namespace cqrs::projection
