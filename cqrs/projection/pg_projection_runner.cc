#include <poll.h>

#include <algorithm>
#include <charconv>

#include "cqrs/core/thread_name.h"
#include "cqrs/pg/advisory_lock.h"
#include "cqrs/projection/pg_projection.h"

namespace cqrs::projection {

namespace {

using pg::Param;

// The runner's own tables, beside the read model's (the same shape as the SQLite runner's).
const pg::Migration kRunnerMigrations[] = {
    {1, "projection checkpoints and parked events", R"sql(
CREATE TABLE projection_checkpoints(
  projection TEXT COLLATE "C" PRIMARY KEY,
  position BIGINT NOT NULL);
CREATE TABLE parked_events(
  projection TEXT COLLATE "C" NOT NULL,
  position BIGINT NOT NULL,
  stream TEXT COLLATE "C" NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (projection, position));
CREATE INDEX parked_events_by_stream ON parked_events(projection, stream, position);
)sql"},
    {2, "the checkpoint records the hash of its last event", R"sql(
-- With the position, the hash-chain link of the last event applied (cqrs/store/checkpoint_check.h):
-- at start it is held against the event store, which may have gone back in time (a restore).
-- NULL for a checkpoint committed before: its position alone is checked.
ALTER TABLE projection_checkpoints ADD COLUMN hash bytea;
)sql"},
};

// Followers learn of each commit here; the payload is "<projection> <position>".
constexpr const char* kChannel = "adsd_projection";

Result<Position> ReadCheckpoint(pg::Connection& c, std::string_view name) {
  ASSIGN_OR_RETURN(pg::Rows r, c.Query("SELECT position FROM projection_checkpoints WHERE projection = $1",
                                       {Param::Text(std::string(name))}));
  return Position(r.empty() ? 0 : static_cast<std::uint64_t>(r.Int(0, 0)));
}

Result<ConsumerCheckpoint> ReadCheckpointWithHash(pg::Connection& c, std::string_view name) {
  ASSIGN_OR_RETURN(pg::Rows r, c.Query("SELECT position, hash FROM projection_checkpoints WHERE projection = $1",
                                       {Param::Text(std::string(name))}));
  ConsumerCheckpoint cp;
  if (r.empty()) return cp;
  cp.position = Position(static_cast<std::uint64_t>(r.Int(0, 0)));
  if (!r.IsNull(0, 1)) {
    const std::string bytes = r.Bytes(0, 1);
    if (bytes.size() == Sha256Digest().size()) {
      Sha256Digest d{};
      std::copy(bytes.begin(), bytes.end(), d.begin());
      cp.hash = d;
    }
  }
  return cp;
}

// The event of `events` at `p`: a position ApplyInTransaction covered, so one of them.
const RecordedEvent& EventAt(std::span<const RecordedEvent> events, Position p) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->position == p) return *it;
  }
  return events.back();
}

std::string HashBytes(const RecordedEvent& e) {
  return std::string(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
}

// "the read model 'ads' in PostgreSQL database reads on 10.0.0.5:5432" (no credentials).
std::string ReadModelName(const pg::Connection& c, std::string_view projection) {
  return "the read model '" + std::string(projection) + "' in PostgreSQL database " + c.Option("dbname") + " on " +
         c.Option("host") + ":" + c.Option("port");
}

}  // namespace

Status PgProjectionRunner::CheckNotAhead(EventStore& store, const PgProjection& projection, pg::Connection& conn,
                                         const PgRunnerOptions& options) {
  // One process at a time: a second one starting with the repair waits, then finds the read
  // model emptied (position 0) and nothing to repair.
  const std::int64_t key = pg::AdvisoryLockKey("adsd projection check " + std::string(projection.name()));
  RETURN_IF_ERROR(conn.Exec("BEGIN"));
  auto check = [&]() -> Result<std::optional<std::string>> {
    RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1)", {Param::Int(key)}).status());
    ASSIGN_OR_RETURN(ConsumerCheckpoint cp, ReadCheckpointWithHash(conn, projection.name()));
    // A read process may read the store from a replica that has not replayed the last events yet.
    ASSIGN_OR_RETURN(CheckpointCheck c, CheckCheckpoint(store, cp, std::chrono::seconds(1)));
    if (!c.ahead()) return std::optional<std::string>();
    const std::string what = ReadModelName(conn, projection.name()) + " " + c.Describe();
    if (options.on_ahead == AheadPolicy::kRefuse) return Corruption(what);
    std::vector<pg::Statement> reset;
    for (std::string& sql : projection.Reset()) reset.emplace_back(std::move(sql));
    reset.push_back({"DELETE FROM parked_events WHERE projection = $1", {Param::Text(std::string(projection.name()))}});
    reset.push_back(
        {"DELETE FROM projection_checkpoints WHERE projection = $1", {Param::Text(std::string(projection.name()))}});
    RETURN_IF_ERROR(conn.Pipeline(reset).status());
    return std::optional<std::string>(what + "; emptied, it is rebuilt from the event store");
  };
  auto repaired = check();
  if (!repaired.ok()) {
    (void)conn.Exec("ROLLBACK");
    return repaired.status();
  }
  RETURN_IF_ERROR(conn.Exec("COMMIT"));
  if (*repaired && options.on_repaired) options.on_repaired(**repaired);
  return Status::Ok();
}

PgProjectionRunner::PgProjectionRunner(EventStore& store, const PgProjection& projection, PgRunnerOptions options)
    : store_(store),
      projection_(projection),
      options_(std::move(options)),
      lock_key_(pg::AdvisoryLockKey("adsd projection " + std::string(projection.name()))),
      reads_(options_.url, 2) {}

Result<std::unique_ptr<PgProjectionRunner>> PgProjectionRunner::Start(EventStore& store, const PgProjection& projection,
                                                                      PgRunnerOptions options) {
  ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(options.url));
  RETURN_IF_ERROR(pg::Migrate(*conn, "projection_runner", kRunnerMigrations));
  RETURN_IF_ERROR(pg::Migrate(*conn, "read_model:" + std::string(projection.name()), projection.Migrations()));
  RETURN_IF_ERROR(CheckNotAhead(store, projection, *conn, options));
  ASSIGN_OR_RETURN(Position committed, ReadCheckpoint(*conn, projection.name()));
  std::unique_ptr<PgProjectionRunner> r(new PgProjectionRunner(store, projection, std::move(options)));
  r->position_.store(committed.value());
  r->thread_ = std::thread([p = r.get()] {
    NameThisThread("pg-projection");
    p->Run();
  });
  return r;
}

PgProjectionRunner::~PgProjectionRunner() { Stop(); }

void PgProjectionRunner::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  advanced_.SignalAll();
}

void PgProjectionRunner::Run() {
  auto next_attempt = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    if (!Connected()) {
      Disconnect();
      if (Status st = Connect(); !st.ok()) {
        SetStatus(st);
        Pause(std::chrono::milliseconds(500));
        continue;
      }
    }
    if (!leader()) {
      Status st;
      if (std::chrono::steady_clock::now() >= next_attempt) {
        next_attempt = std::chrono::steady_clock::now() + options_.follow_interval;
        st = TryLead();
        if (st.ok() && !leader()) st = RefreshFromCheckpoint();
      } else {
        st = Follow(std::chrono::milliseconds(100));
      }
      SetStatus(st);
      if (!st.ok()) {
        Disconnect();
        Pause(std::chrono::milliseconds(500));
      }
      continue;
    }
    const Position next = position().next();
    auto batch = store_.ReadAll(next, options_.max_batch);
    if (!batch.ok()) {  // the store reports its own health; the read model is fine
      Pause(std::chrono::milliseconds(200));
      continue;
    }
    if (batch->empty()) {
      store_.WaitForPosition(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      continue;
    }
    Status st;
    {
      MutexLock lock(db_mu_);
      st = ApplyBatch(*batch);
    }
    SetStatus(st);
    if (!st.ok()) {
      // A database failure, not an event's: start again from the committed checkpoint, on a new
      // session (which may no longer be the leader's).
      Disconnect();
      Pause(std::chrono::milliseconds(500));
    }
  }
  Disconnect();
}

bool PgProjectionRunner::Connected() {
  MutexLock lock(db_mu_);
  return conn_ && conn_->healthy();
}

Status PgProjectionRunner::Connect() {
  ASSIGN_OR_RETURN(auto c, pg::Connection::Open(options_.url));
  for (const auto& [name, sql] : projection_.PreparedStatements()) RETURN_IF_ERROR(c->Prepare(name, sql));
  RETURN_IF_ERROR(c->Exec(std::string("LISTEN ") + kChannel));
  MutexLock lock(db_mu_);
  conn_ = std::move(c);
  return Status::Ok();
}

void PgProjectionRunner::Disconnect() {
  MutexLock lock(db_mu_);
  leader_.store(false, std::memory_order_release);
  conn_.reset();  // ends the session: the lock, if held, goes to another process
}

Status PgProjectionRunner::TryLead() {
  MutexLock lock(db_mu_);
  ASSIGN_OR_RETURN(bool got, pg::TryAdvisoryLock(*conn_, lock_key_));
  if (!got) return Status::Ok();
  // The leader announces, it does not follow: its own notifications would pile up in the session.
  RETURN_IF_ERROR(conn_->Exec(std::string("UNLISTEN ") + kChannel));
  ASSIGN_OR_RETURN(auto pending, conn_->TakeNotifications());
  (void)pending;
  ASSIGN_OR_RETURN(Position committed, ReadCheckpoint(*conn_, projection_.name()));
  ASSIGN_OR_RETURN(pg::Rows parked, conn_->Query("SELECT DISTINCT stream FROM parked_events WHERE projection = $1",
                                                 {Param::Text(std::string(projection_.name()))}));
  parked_.clear();
  for (int i = 0; i < parked.size(); ++i) parked_.emplace(parked.Text(i, 0));
  // The committed checkpoint is the truth, whatever this process saw before.
  position_.store(committed.value(), std::memory_order_release);
  advanced_.SignalAll();
  waiters_.Notify();
  leader_.store(true, std::memory_order_release);
  return Status::Ok();
}

Status PgProjectionRunner::Follow(std::chrono::milliseconds wait) {
  pollfd pfd{-1, POLLIN, 0};
  {
    MutexLock lock(db_mu_);  // only this thread replaces conn_, but the admin calls use it too
    pfd.fd = conn_->socket();
  }
  ::poll(&pfd, 1, static_cast<int>(wait.count()));
  std::vector<std::string> notes;
  {
    MutexLock lock(db_mu_);
    ASSIGN_OR_RETURN(notes, conn_->TakeNotifications());
  }
  const std::string prefix = std::string(projection_.name()) + " ";
  for (const std::string& n : notes) {
    if (!n.starts_with(prefix)) continue;
    std::uint64_t p = 0;
    const char* begin = n.data() + prefix.size();
    if (std::from_chars(begin, n.data() + n.size(), p).ec == std::errc()) Advance(Position(p));
  }
  return Status::Ok();
}

Status PgProjectionRunner::RefreshFromCheckpoint() {
  MutexLock lock(db_mu_);
  ASSIGN_OR_RETURN(Position committed, ReadCheckpoint(*conn_, projection_.name()));
  Advance(committed);
  return Status::Ok();
}

std::vector<pg::Statement> PgProjectionRunner::CommitStatements(const RecordedEvent& last) const {
  const std::string name(projection_.name());
  return {
      {"INSERT INTO projection_checkpoints(projection, position, hash) VALUES ($1, $2, $3) "
       "ON CONFLICT (projection) DO UPDATE SET position = excluded.position, hash = excluded.hash",
       {Param::Text(name), Param::Int(static_cast<std::int64_t>(last.position.value())),
        Param::Bytes(HashBytes(last))}},
      // Delivered to the followers when (and only if) the transaction commits.
      {std::string("SELECT pg_notify('") + kChannel + "', $1)",
       {Param::Text(name + " " + std::to_string(last.position.value()))}},
      {"COMMIT"},
  };
}

Status PgProjectionRunner::ApplyBatch(std::span<const RecordedEvent> events) {
  const Position done = position();
  Position last = done;
  std::vector<std::string> newly_parked;
  RETURN_IF_ERROR(conn_->Exec("BEGIN"));
  Status st = ApplyInTransaction(events, done, last, newly_parked);
  if (st.ok() && last > done) st = conn_->Pipeline(CommitStatements(EventAt(events, last))).status();
  if (!st.ok() || last == done) {
    (void)conn_->Exec("ROLLBACK");  // best effort: a broken session is dropped anyway
    return st;
  }
  for (auto& s : newly_parked) parked_.insert(std::move(s));
  Advance(last);
  if (options_.on_committed) options_.on_committed(events);
  return Status::Ok();
}

Status PgProjectionRunner::ApplyInTransaction(std::span<const RecordedEvent> events, Position done, Position& last,
                                              std::vector<std::string>& newly_parked) {
  auto is_parked = [&](const std::string& s) {
    db_mu_.AssertHeld();  // called where the caller holds it
    return parked_.contains(s) || std::find(newly_parked.begin(), newly_parked.end(), s) != newly_parked.end();
  };
  // Almost always every event applies: then the batch is one pipeline. Only when an event fails,
  // or a stream is parked, is it redone event by event, to retry and park precisely.
  std::vector<pg::Statement> whole{{"SAVEPOINT batch"}};
  bool try_whole = true;
  Position whole_last = done;
  for (const RecordedEvent& e : events) {
    if (e.position <= done) continue;
    whole_last = e.position;
    if (is_parked(e.stream) || !projection_.Apply(e, whole).ok()) {
      try_whole = false;
      break;
    }
  }
  if (whole_last == done) return Status::Ok();
  if (try_whole) {
    whole.push_back({"RELEASE SAVEPOINT batch"});
    auto applied = conn_->Pipeline(whole);
    if (applied.ok()) {
      last = whole_last;
      return Status::Ok();
    }
    if (applied.status().code() == StatusCode::kUnavailable) return applied.status();
    RETURN_IF_ERROR(conn_->Exec("ROLLBACK TO SAVEPOINT batch; RELEASE SAVEPOINT batch"));
  }
  for (const RecordedEvent& e : events) {
    if (e.position <= done) continue;
    last = e.position;
    const bool already_parked = is_parked(e.stream);
    Status failure = already_parked ? Unavailable("stream is parked") : Status::Ok();
    if (!already_parked) RETURN_IF_ERROR(ApplyWithRetry(e, failure));
    if (failure.ok()) continue;
    RETURN_IF_ERROR(conn_
                        ->Query("INSERT INTO parked_events(projection, position, stream, error) "
                                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                {Param::Text(std::string(projection_.name())),
                                 Param::Int(static_cast<std::int64_t>(e.position.value())), Param::Text(e.stream),
                                 Param::Text(failure.ToString())})
                        .status());
    if (!already_parked) newly_parked.push_back(e.stream);
  }
  return Status::Ok();
}

Status PgProjectionRunner::ApplyWithRetry(const RecordedEvent& e, Status& failure) {
  std::vector<pg::Statement> statements{{"SAVEPOINT apply_event"}};
  failure = projection_.Apply(e, statements);
  if (!failure.ok()) return Status::Ok();  // the event itself cannot be read: retrying cannot help
  statements.push_back({"RELEASE SAVEPOINT apply_event"});
  auto backoff = options_.retry_backoff;
  for (int attempt = 1; attempt <= options_.attempts_before_parking; ++attempt) {
    auto applied = conn_->Pipeline(statements);
    if (applied.ok()) {
      failure = Status::Ok();
      return Status::Ok();
    }
    if (applied.status().code() == StatusCode::kUnavailable) return applied.status();
    failure = applied.status();
    RETURN_IF_ERROR(conn_->Exec("ROLLBACK TO SAVEPOINT apply_event; RELEASE SAVEPOINT apply_event"));
    if (attempt < options_.attempts_before_parking) {
      std::this_thread::sleep_for(backoff);  // backoff before a retry, not a wait for a result
      backoff *= 2;
    }
  }
  return Status::Ok();
}

void PgProjectionRunner::Advance(Position p) {
  std::uint64_t seen = position_.load(std::memory_order_acquire);
  while (p.value() > seen && !position_.compare_exchange_weak(seen, p.value(), std::memory_order_acq_rel)) {
  }
  {
    MutexLock lock(mu_);
    advanced_.SignalAll();
  }
  waiters_.Notify();
}

Status PgProjectionRunner::NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                                    std::function<void(bool reached)> done) {
  return waiters_.Add(p, deadline, std::move(done));
}

bool PgProjectionRunner::WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const {
  if (position() >= p) return true;
  MutexLock lock(mu_);
  while (position() < p && !stop_.load()) {
    if (!advanced_.WaitUntil(mu_, deadline)) break;
  }
  return position() >= p;
}

Status PgProjectionRunner::status() const { return status_.Get(); }

void PgProjectionRunner::SetStatus(Status st) { status_.Set(std::move(st)); }

void PgProjectionRunner::Pause(std::chrono::milliseconds d) const { PauseUnlessStopped(stop_, d); }

Result<std::vector<ParkedStream>> PgProjectionRunner::ListParked() {
  return reads_.With([&](pg::Connection& c) -> Result<std::vector<ParkedStream>> {
    ASSIGN_OR_RETURN(pg::Rows rows, c.Query("SELECT stream, MIN(position), COUNT(*), "
                                            "(SELECT error FROM parked_events p2 WHERE p2.projection = p.projection "
                                            " AND p2.stream = p.stream ORDER BY position LIMIT 1) "
                                            "FROM parked_events p WHERE projection = $1 GROUP BY projection, stream "
                                            "ORDER BY MIN(position)",
                                            {Param::Text(std::string(projection_.name()))}));
    std::vector<ParkedStream> out;
    for (int i = 0; i < rows.size(); ++i) {
      out.push_back({std::string(rows.Text(i, 0)), Position(static_cast<std::uint64_t>(rows.Int(i, 1))),
                     std::string(rows.Text(i, 3)), rows.Int(i, 2)});
    }
    return out;
  });
}

namespace {
Status NotLeader() {
  return Unavailable(
      "this process does not apply the read model now: another one does (its /readyz says "
      "\"projection_leader\":true)");
}
}  // namespace

Status PgProjectionRunner::ReplayParked(std::string_view stream) {
  MutexLock lock(db_mu_);
  if (!leader() || !conn_) return NotLeader();
  if (!parked_.contains(stream)) return NotFound("stream " + std::string(stream) + " is not parked");
  ASSIGN_OR_RETURN(pg::Rows at,
                   conn_->Query("SELECT position FROM parked_events WHERE projection = $1 "
                                "AND stream = $2 ORDER BY position",
                                {Param::Text(std::string(projection_.name())), Param::Text(std::string(stream))}));
  RETURN_IF_ERROR(conn_->Exec("BEGIN"));
  auto replay = [&]() -> Status {
    db_mu_.AssertHeld();  // called where the caller holds it
    for (int i = 0; i < at.size(); ++i) {
      const Position p(static_cast<std::uint64_t>(at.Int(i, 0)));
      ASSIGN_OR_RETURN(auto events, store_.ReadAll(p, 1));
      if (events.empty()) return Internal("parked event at " + std::to_string(p.value()) + " is gone");
      Status failure;
      RETURN_IF_ERROR(ApplyWithRetry(events.front(), failure));
      RETURN_IF_ERROR(failure);  // rolled back below: the stream stays parked
    }
    return conn_
        ->Pipeline({{"DELETE FROM parked_events WHERE projection = $1 AND stream = $2",
                     {Param::Text(std::string(projection_.name())), Param::Text(std::string(stream))}},
                    {"COMMIT"}})
        .status();
  };
  if (Status st = replay(); !st.ok()) {
    (void)conn_->Exec("ROLLBACK");
    return st;
  }
  parked_.erase(parked_.find(stream));
  return Status::Ok();
}

Result<std::uint64_t> PgProjectionRunner::Rebuild() {
  MutexLock lock(db_mu_);
  if (!leader() || !conn_) return NotLeader();
  std::set<std::string, std::less<>> before = std::move(parked_);
  parked_.clear();
  std::vector<std::string> newly_parked;
  Position last(0);
  RecordedEvent last_event;
  auto rebuild = [&]() -> Status {
    db_mu_.AssertHeld();  // called where the caller holds it
    std::vector<pg::Statement> reset{{"BEGIN"}};
    for (std::string& sql : projection_.Reset()) reset.emplace_back(std::move(sql));
    reset.push_back(
        {"DELETE FROM parked_events WHERE projection = $1", {Param::Text(std::string(projection_.name()))}});
    RETURN_IF_ERROR(conn_->Pipeline(reset).status());
    while (true) {
      ASSIGN_OR_RETURN(auto batch, store_.ReadAll(last.next(), std::max<std::size_t>(options_.max_batch, 4096)));
      if (batch.empty()) break;
      Position covered = last;
      RETURN_IF_ERROR(ApplyInTransaction(batch, last, covered, newly_parked));
      if (covered > last) last_event = EventAt(batch, covered);
      last = covered;
    }
    if (last.value() == 0) {  // an empty store: no event to name, no checkpoint
      return conn_
          ->Pipeline({{"DELETE FROM projection_checkpoints WHERE projection = $1",
                       {Param::Text(std::string(projection_.name()))}},
                      {"COMMIT"}})
          .status();
    }
    return conn_->Pipeline(CommitStatements(last_event)).status();
  };
  if (Status st = rebuild(); !st.ok()) {
    (void)conn_->Exec("ROLLBACK");
    parked_ = std::move(before);
    return st;
  }
  for (auto& s : newly_parked) parked_.insert(std::move(s));
  position_.store(last.value(), std::memory_order_release);
  advanced_.SignalAll();
  waiters_.Notify();
  return last.value();
}

}  // namespace cqrs::projection
