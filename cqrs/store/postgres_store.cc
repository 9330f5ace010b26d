#include "cqrs/store/postgres_store.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cqrs/core/thread_name.h"
#include "cqrs/pg/connection.h"
#include "cqrs/pg/pool.h"
#include "cqrs/store/append_checks.h"
#include "cqrs/store/polling_subscription.h"
#include "cqrs/store/postgres_schema.h"

namespace cqrs {

namespace {

using pg::Param;

TimestampUs NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kColumns =
    "position, stream, version, event_id, type, schema_version, timestamp_us, correlation_id, causation_id, "
    "metadata, payload, hash";

Uuid ParseUuid(std::string_view t) { return Uuid::Parse(t).value_or(Uuid::Nil()); }

RecordedEvent FromRow(const pg::Rows& rows, int i) {
  RecordedEvent e;
  e.position = Position(static_cast<std::uint64_t>(rows.Int(i, 0)));
  e.stream = std::string(rows.Text(i, 1));
  e.version = StreamVersion(static_cast<std::uint64_t>(rows.Int(i, 2)));
  e.event_id = ParseUuid(rows.Text(i, 3));
  e.type = std::string(rows.Text(i, 4));
  e.schema_version = static_cast<std::uint32_t>(rows.Int(i, 5));
  e.timestamp_us = rows.Int(i, 6);
  e.correlation_id = ParseUuid(rows.Text(i, 7));
  e.causation_id = ParseUuid(rows.Text(i, 8));
  e.metadata = rows.Bytes(i, 9);
  e.payload = rows.Bytes(i, 10);
  const std::string hash = rows.Bytes(i, 11);
  if (hash.size() == e.hash.size()) std::memcpy(e.hash.data(), hash.data(), hash.size());
  return e;
}

// "\x0a1b..." as a bytea element of an array literal (ArrayLiteral escapes the backslash).
std::string ByteaHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void PutBytes(std::string& out, std::string_view b) {
  PutU64(out, b.size());
  out.append(b);
}

// One append waiting for the writer.
struct PendingAppend {
  std::string stream;
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<EventData> events;
  std::function<void(Result<AppendResult>)> done;
};


}  // namespace

Sha256Digest PostgresChainHash(const Sha256Digest& previous, const RecordedEvent& e) {
  std::string b;
  b.reserve(128 + e.stream.size() + e.type.size() + e.metadata.size() + e.payload.size());
  PutU64(b, e.position.value());
  PutBytes(b, e.stream);
  PutU64(b, e.version.value());
  b.append(reinterpret_cast<const char*>(e.event_id.bytes.data()), 16);
  PutBytes(b, e.type);
  PutU64(b, e.schema_version);
  PutU64(b, static_cast<std::uint64_t>(e.timestamp_us));
  b.append(reinterpret_cast<const char*>(e.correlation_id.bytes.data()), 16);
  b.append(reinterpret_cast<const char*>(e.causation_id.bytes.data()), 16);
  PutBytes(b, e.metadata);
  PutBytes(b, e.payload);
  return Sha256Concat(previous, b.data(), b.size());
}

class PostgresEventStore final : public EventStore {
 public:
  PostgresEventStore(PostgresStoreOptions options)
      : options_(std::move(options)), reads_(options_.url, options_.read_connections) {}

  ~PostgresEventStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    queued_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (listener_.joinable()) listener_.join();
  }

  Status Open() {
    ASSIGN_OR_RETURN(writer_conn_, pg::Connection::Open(options_.url));
    ASSIGN_OR_RETURN(pg::Rows recovery, writer_conn_->Query("SELECT pg_is_in_recovery()"));
    replica_ = recovery.Text(0, 0) == "t";
    if (replica_ && !options_.read_only) {
      return InvalidArgument("postgres: " + options_.url + " is a read replica: only a read-only store can use it");
    }
    if (replica_) {
      RETURN_IF_ERROR(pg::CheckSchema(*writer_conn_, kEventStoreComponent, EventStoreMigrations()));
    } else {
      RETURN_IF_ERROR(pg::Migrate(*writer_conn_, kEventStoreComponent, EventStoreMigrations()));
    }
    ASSIGN_OR_RETURN(pg::Rows head, writer_conn_->Query("SELECT position FROM log_head WHERE id = 1"));
    if (head.empty()) return Corruption("postgres: the log_head row is missing");
    AdvanceHead(static_cast<std::uint64_t>(head.Int(0, 0)));
    ASSIGN_OR_RETURN(listen_conn_, pg::Connection::Open(options_.url));
    if (!replica_) RETURN_IF_ERROR(listen_conn_->Exec("LISTEN " + std::string(kHeadChannel)));
    if (options_.read_only) {
      writer_conn_.reset();
    } else {
      writer_ = std::thread([this] {
        NameThisThread("pg-append");
        WriteLoop();
      });
    }
    listener_ = std::thread([this] {
      NameThisThread("pg-listen");
      ListenLoop();
    });
    return Status::Ok();
  }

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const EventData> events) override {
    std::mutex m;
    std::condition_variable cv;
    std::optional<Result<AppendResult>> out;
    AppendAsync(stream, expected, events, [&](Result<AppendResult> r) {
      std::lock_guard lock(m);
      out = std::move(r);
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return out.has_value(); });
    return std::move(*out);
  }

  void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                   std::function<void(Result<AppendResult>)> done) override {
    if (options_.read_only) {
      return done(Unavailable("postgres store: opened read-only (a read process, or a read replica): appends go to "
                              "a write process"));
    }
    if (Status st = ValidateEvents(events); !st.ok()) return done(st);
    if (stream.empty() || stream.find('\0') != std::string_view::npos) {
      return done(InvalidArgument("stream: must be non-empty text without NUL bytes"));
    }
    PendingAppend p{std::string(stream), expected, std::vector<EventData>(events.begin(), events.end()),
                    std::move(done)};
    const TimestampUs now = NowUs();
    for (EventData& e : p.events) {
      if (e.timestamp_us == 0) e.timestamp_us = now;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        // Not under the lock: the callback may do anything.
      } else {
        queue_.push_back(std::move(p));
        queued_.notify_one();
        return;
      }
    }
    p.done(Unavailable("postgres store: closed"));
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override {
    return reads_.With([&](pg::Connection& c) -> Result<std::vector<RecordedEvent>> {
      ASSIGN_OR_RETURN(pg::Rows rows,
                       c.QueryPrepared("SELECT " + std::string(kColumns) +
                                   " FROM events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3",
                               {Param::Text(std::string(stream)), Param::Int(static_cast<std::int64_t>(from.value())),
                                Param::Int(static_cast<std::int64_t>(std::min<std::size_t>(max, INT64_MAX)))}));
      std::vector<RecordedEvent> out;
      out.reserve(rows.size());
      for (int i = 0; i < rows.size(); ++i) out.push_back(FromRow(rows, i));
      return out;
    });
  }

  Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const override {
    return reads_.With([&](pg::Connection& c) -> Result<std::vector<RecordedEvent>> {
      ASSIGN_OR_RETURN(pg::Rows rows,
                       c.QueryPrepared("SELECT " + std::string(kColumns) +
                                   " FROM events WHERE position >= $1 ORDER BY position LIMIT $2",
                               {Param::Int(static_cast<std::int64_t>(from.value())),
                                Param::Int(static_cast<std::int64_t>(std::min<std::size_t>(max, INT64_MAX)))}));
      std::vector<RecordedEvent> out;
      out.reserve(rows.size());
      for (int i = 0; i < rows.size(); ++i) out.push_back(FromRow(rows, i));
      if (!out.empty()) AdvanceHead(out.back().position.value());
      return out;
    });
  }

  StreamVersion GetStreamVersion(std::string_view stream) const override {
    // The interface has no error: a database that is down makes the caller wait (a consumer
    // must not take "cannot tell" for "the stream is empty").
    auto backoff = std::chrono::milliseconds(50);
    while (true) {
      auto v = reads_.With([&](pg::Connection& c) -> Result<std::uint64_t> {
        ASSIGN_OR_RETURN(pg::Rows rows, c.QueryPrepared("SELECT coalesce(max(version), 0) FROM events WHERE stream = $1",
                                                {Param::Text(std::string(stream))}));
        return static_cast<std::uint64_t>(rows.Int(0, 0));
      });
      if (v.ok()) return StreamVersion(*v);
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }

  Position Head() const override { return Position(head_.load()); }

  Status Health() const override {
    return reachable_.load() ? Status::Ok() : Unavailable("postgres: the server does not answer");
  }

  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const override {
    std::unique_lock lock(head_mu_);
    return head_cv_.wait_until(lock, deadline, [&] { return head_.load() >= p.value(); });
  }

  Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                  EventBatchHandler handler) override {
    return StartPollingSubscription(*this, from, max_batch, std::move(handler), /*retry_unavailable=*/true);
  }

 private:
  void AdvanceHead(std::uint64_t p) const {
    std::uint64_t cur = head_.load();
    while (p > cur && !head_.compare_exchange_weak(cur, p)) {
    }
    if (p > cur) {
      std::lock_guard lock(head_mu_);
      head_cv_.notify_all();
    }
  }

  void WriteLoop() {
    while (true) {
      std::vector<PendingAppend> batch;
      {
        std::unique_lock lock(mu_);
        queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      std::vector<Result<AppendResult>> results = Commit(batch);
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
    }
  }

  // The writer's statements, planned once per connection.
  Status PrepareWriter() {
    RETURN_IF_ERROR(writer_conn_->Prepare("lock_head", "SELECT position, hash FROM log_head WHERE id = 1 FOR UPDATE"));
    // Each stream's version by a backward index scan (max() over a long stream would read it all).
    RETURN_IF_ERROR(writer_conn_->Prepare(
        "versions",
        "SELECT s.stream, (SELECT e.version FROM events e WHERE e.stream = s.stream ORDER BY e.version DESC LIMIT 1) "
        "FROM unnest($1::text[]) AS s(stream)"));
    RETURN_IF_ERROR(writer_conn_->Prepare(
        "placed",
        "SELECT event_id, stream, version, position, timestamp_us, metadata FROM events WHERE event_id = ANY($1::uuid[])"));
    RETURN_IF_ERROR(writer_conn_->Prepare(
        "insert", "INSERT INTO events (" + std::string(kColumns) +
                      ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], "
                      "$6::int[], $7::bigint[], $8::uuid[], $9::uuid[], $10::bytea[], $11::bytea[], $12::bytea[])"));
    // The new head, and its announcement: NOTIFY is delivered at commit.
    RETURN_IF_ERROR(writer_conn_->Prepare(
        "advance", "WITH h AS (UPDATE log_head SET position = $1, hash = $2 WHERE id = 1 RETURNING position) "
                   "SELECT pg_notify('" + std::string(kHeadChannel) + "', position::text) FROM h"));
    prepared_ = true;
    return Status::Ok();
  }

  // Runs one batch in one transaction; returns each append's outcome.
  std::vector<Result<AppendResult>> Commit(std::vector<PendingAppend>& batch) {
    std::vector<Result<AppendResult>> results(batch.size(), Result<AppendResult>(Internal("not run")));
    if (!writer_conn_->healthy() || !prepared_) {
      Status st = writer_conn_->healthy() ? Status::Ok() : writer_conn_->Reconnect();
      if (st.ok()) st = PrepareWriter();
      if (!st.ok()) {
        prepared_ = false;  // a new connection needs them again
        for (auto& r : results) r = st;
        return results;
      }
    }
    auto committed = TryCommit(batch, results);
    if (!committed.ok()) {
      (void)writer_conn_->Exec("ROLLBACK");
      // Everything not already decided (conflicts, replays) fails alike. If the commit itself
      // was cut off its outcome is unknown: a retry with the same event ids is recognized.
      for (auto& r : results) {
        if (r.ok() || r.status().code() == StatusCode::kInternal) r = committed;
      }
    }
    return results;
  }

  Status TryCommit(std::vector<PendingAppend>& batch, std::vector<Result<AppendResult>>& results) {
    std::vector<std::string> streams, ids;
    for (const PendingAppend& p : batch) {
      streams.push_back(p.stream);
      for (const EventData& e : p.events) ids.push_back(e.event_id.ToString());
    }
    ASSIGN_OR_RETURN(std::vector<pg::Rows> read,
                     writer_conn_->Pipeline({
                         {"BEGIN"},
                         pg::Statement::Prepared("lock_head"),
                         pg::Statement::Prepared("versions", {Param::Text(pg::ArrayLiteral(streams))}),
                         pg::Statement::Prepared("placed", {Param::Text(pg::ArrayLiteral(ids))}),
                     }));
    if (read.size() != 4) return Unavailable("postgres: a pipeline answered " + std::to_string(read.size()) + " of 4 statements");
    if (read[1].empty()) return Corruption("postgres: the log_head row is missing");
    std::uint64_t head = static_cast<std::uint64_t>(read[1].Int(0, 0));
    Sha256Digest chain{};
    if (std::string h = read[1].Bytes(0, 1); h.size() == chain.size()) std::memcpy(chain.data(), h.data(), h.size());
    std::unordered_map<std::string, std::uint64_t> versions;
    for (int i = 0; i < read[2].size(); ++i) {
      if (!read[2].IsNull(i, 1)) versions[std::string(read[2].Text(i, 0))] = static_cast<std::uint64_t>(read[2].Int(i, 1));
    }
    struct Placed {
      std::string stream;
      std::uint64_t version;
      std::uint64_t position;
      TimestampUs timestamp_us;
      std::string metadata;
    };
    std::unordered_map<Uuid, Placed> placed;  // every id already stored, or placed by this batch
    for (int i = 0; i < read[3].size(); ++i) {
      placed[ParseUuid(read[3].Text(i, 0))] = {std::string(read[3].Text(i, 1)),
                                                static_cast<std::uint64_t>(read[3].Int(i, 2)),
                                                static_cast<std::uint64_t>(read[3].Int(i, 3)),
                                                read[3].Int(i, 4), read[3].Bytes(i, 5)};
    }

    std::vector<std::string> c_pos, c_stream, c_ver, c_id, c_type, c_schema, c_ts, c_corr, c_caus, c_meta, c_payload,
        c_hash;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const PendingAppend& p = batch[i];
      if (auto retry = CheckRetry(p, placed)) {
        results[i] = std::move(*retry);
        continue;
      }
      const std::uint64_t current = versions.count(p.stream) ? versions[p.stream] : 0;
      if (!p.expected.IsSatisfiedBy(StreamVersion(current))) {
        results[i] = VersionConflict("stream " + p.stream + " is at version " + std::to_string(current) +
                                     ", expected " + p.expected.ToString());
        continue;
      }
      AppendResult r;
      r.first_version = StreamVersion(current + 1);
      r.last_version = StreamVersion(current + p.events.size());
      r.first_position = Position(head + 1);
      r.last_position = Position(head + p.events.size());
      for (std::size_t k = 0; k < p.events.size(); ++k) {
        const EventData& d = p.events[k];
        RecordedEvent e;
        e.position = Position(++head);
        e.stream = p.stream;
        e.version = StreamVersion(current + k + 1);
        e.event_id = d.event_id;
        e.type = d.type;
        e.schema_version = d.schema_version;
        e.timestamp_us = d.timestamp_us;
        e.correlation_id = d.correlation_id;
        e.causation_id = d.causation_id;
        e.metadata = d.metadata;
        e.payload = d.payload;
        chain = PostgresChainHash(chain, e);
        placed[e.event_id] = {e.stream, e.version.value(), e.position.value(), e.timestamp_us, e.metadata};
        c_pos.push_back(std::to_string(e.position.value()));
        c_stream.push_back(e.stream);
        c_ver.push_back(std::to_string(e.version.value()));
        c_id.push_back(e.event_id.ToString());
        c_type.push_back(e.type);
        c_schema.push_back(std::to_string(e.schema_version));
        c_ts.push_back(std::to_string(e.timestamp_us));
        c_corr.push_back(e.correlation_id.ToString());
        c_caus.push_back(e.causation_id.ToString());
        c_meta.push_back(ByteaHex(e.metadata));
        c_payload.push_back(ByteaHex(e.payload));
        c_hash.push_back(ByteaHex(std::string_view(reinterpret_cast<const char*>(chain.data()), chain.size())));
      }
      versions[p.stream] = current + p.events.size();
      results[i] = r;
    }
    if (c_pos.empty()) {
      RETURN_IF_ERROR(writer_conn_->Exec("ROLLBACK"));
      return Status::Ok();
    }
    using pg::ArrayLiteral;
    RETURN_IF_ERROR(
        writer_conn_
            ->Pipeline({
                pg::Statement::Prepared(
                    "insert",
                    {Param::Text(ArrayLiteral(c_pos)), Param::Text(ArrayLiteral(c_stream)),
                     Param::Text(ArrayLiteral(c_ver)), Param::Text(ArrayLiteral(c_id)), Param::Text(ArrayLiteral(c_type)),
                     Param::Text(ArrayLiteral(c_schema)), Param::Text(ArrayLiteral(c_ts)),
                     Param::Text(ArrayLiteral(c_corr)), Param::Text(ArrayLiteral(c_caus)),
                     Param::Text(ArrayLiteral(c_meta)), Param::Text(ArrayLiteral(c_payload)),
                     Param::Text(ArrayLiteral(c_hash))}),
                pg::Statement::Prepared(
                    "advance", {Param::Int(static_cast<std::int64_t>(head)),
                                Param::Bytes(std::string(reinterpret_cast<const char*>(chain.data()), chain.size()))}),
                {"COMMIT"},
            })
            .status());
    AdvanceHead(head);
    return Status::Ok();
  }

  // A retry of an append that already happened (its first event id is stored): the original
  // result, or kAlreadyExists when the ids are stored elsewhere or followed by other events.
  template <typename Map>
  std::optional<Result<AppendResult>> CheckRetry(const PendingAppend& p, const Map& placed) const {
    bool any = false;
    for (const EventData& e : p.events) any = any || placed.count(e.event_id) > 0;
    if (!any) return std::nullopt;
    const auto first = placed.find(p.events.front().event_id);
    bool same = first != placed.end() && first->second.stream == p.stream;
    for (std::size_t k = 0; same && k < p.events.size(); ++k) {
      const auto it = placed.find(p.events[k].event_id);
      same = it != placed.end() && it->second.stream == p.stream && it->second.version == first->second.version + k;
    }
    if (!same) {
      return Result<AppendResult>(AlreadyExists("event " + p.events.front().event_id.ToString() +
                                                " (or one after it) is already stored elsewhere or followed by "
                                                "different events"));
    }
    AppendResult r;
    r.first_version = StreamVersion(first->second.version);
    r.last_version = StreamVersion(first->second.version + p.events.size() - 1);
    r.first_position = Position(first->second.position);
    r.last_position = Position(placed.find(p.events.back().event_id)->second.position);
    r.idempotent_replay = true;
    r.original = AppendResult::Original{first->second.timestamp_us, first->second.metadata};
    return Result<AppendResult>(r);
  }

  void ListenLoop() {
    // Safety net under LISTEN: a notification lost with a broken connection is made up for by
    // reading the head now and then.
    constexpr int kPollMs = 200;
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      if (!listen_conn_->healthy()) {
        reachable_.store(false);
        if (listen_conn_->Reconnect().ok() &&
            (replica_ || listen_conn_->Exec("LISTEN " + std::string(kHeadChannel)).ok())) {
          PollHead();
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
        }
        continue;
      }
      if (replica_) {  // a standby cannot LISTEN: ask, often (one indexed row)
        std::this_thread::sleep_for(options_.replica_poll);  // the poll's period, not a wait for a result
        PollHead();
        continue;
      }
      pollfd fd{listen_conn_->socket(), POLLIN, 0};
      const int ready = ::poll(&fd, 1, kPollMs);
      if (ready <= 0) {
        PollHead();
        continue;
      }
      auto notes = listen_conn_->TakeNotifications();
      if (!notes.ok()) continue;  // unhealthy now: reconnects above
      for (const std::string& n : *notes) AdvanceHead(std::strtoull(n.c_str(), nullptr, 10));
    }
  }

  void PollHead() {
    auto head = listen_conn_->Query("SELECT position FROM log_head WHERE id = 1");
    reachable_.store(head.ok());
    if (head.ok() && !head->empty()) AdvanceHead(static_cast<std::uint64_t>(head->Int(0, 0)));
  }

  const PostgresStoreOptions options_;
  pg::Pool reads_;
  std::unique_ptr<pg::Connection> writer_conn_;  // the writer thread's
  bool prepared_ = false;                        // writer thread: statements prepared on writer_conn_
  std::unique_ptr<pg::Connection> listen_conn_;  // the listener thread's
  bool replica_ = false;                         // opened on a hot standby (set by Open)

  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<PendingAppend> queue_;  // guarded by mu_
  bool stopping_ = false;            // guarded by mu_

  std::atomic<bool> reachable_{true};  // the listener's view of the server
  mutable std::atomic<std::uint64_t> head_{0};
  mutable std::mutex head_mu_;
  mutable std::condition_variable head_cv_;
  std::thread writer_;
  std::thread listener_;
};

Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(const PostgresStoreOptions& options) {
  auto store = std::make_unique<PostgresEventStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace cqrs
