#include "cqrs/store/postgres/store.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"
#include "cqrs/pg/connection.h"
#include "cqrs/pg/pool.h"
#include "cqrs/store/append_checks.h"
#include "cqrs/store/polling_subscription.h"
#include "cqrs/store/postgres/announcer.h"
#include "cqrs/store/postgres/appender.h"
#include "cqrs/store/postgres/position_waits.h"
#include "cqrs/store/postgres/rows.h"
#include "cqrs/store/postgres/schema.h"
#include "cqrs/store/postgres/sequencer.h"

namespace cqrs {

namespace {

using pg::Param;
using pg_rows::FromRow;
using pg_rows::kColumns;

void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void PutBytes(std::string& out, std::string_view b) {
  PutU64(out, b.size());
  out.append(b);
}

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
      : options_(std::move(options)),
        reads_(options_.url, options_.read_connections),
        waits_([this](std::uint64_t head) { AdvanceHead(head); }) {}

  ~PostgresEventStore() override EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    queued_.SignalAll();
    queued_first_.SignalAll();
    for (std::thread& w : writers_) w.join();  // they finish the queue first
    // Committed appends are answered once numbered: give the sequencers a moment, then say so.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!waits_.empty() && std::chrono::steady_clock::now() < deadline) {
      if (sequencer_) sequencer_->Wake();
      WaitForPosition(Position(head_.load() + 1), std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
    }
    closed_.store(true);
    waits_.Wake();
    if (resolver_.joinable()) resolver_.join();
    sequencer_.reset();
    waits_.FailAll(Unavailable(
        "postgres store: closed before the append's events were numbered (they are committed: a retry with the "
        "same event ids returns their positions)"));
    if (listener_.joinable()) listener_.join();
  }

  Status Open() {
    auto conn = pg::Connection::Open(options_.url);
    if (!conn.ok()) return conn.status();
    ASSIGN_OR_RETURN(pg::Rows recovery, (*conn)->Query("SELECT pg_is_in_recovery()"));
    replica_ = recovery.Text(0, 0) == "t";
    if (replica_ && !options_.read_only) {
      return InvalidArgument("postgres: " + options_.url + " is a read replica: only a read-only store can use it");
    }
    if (replica_) {
      RETURN_IF_ERROR(pg::CheckSchema(**conn, kEventStoreComponent, EventStoreMigrations()));
    } else {
      RETURN_IF_ERROR(pg::Migrate(**conn, kEventStoreComponent, EventStoreMigrations()));
    }
    ASSIGN_OR_RETURN(pg::Rows head, (*conn)->Query("SELECT position FROM log_head WHERE id = 1"));
    if (head.empty()) return Corruption("postgres: the log_head row is missing");
    AdvanceHead(static_cast<std::uint64_t>(head.Int(0, 0)));
    listen_conn_ = std::move(*conn);
    if (!replica_) RETURN_IF_ERROR(listen_conn_->Exec("LISTEN \"" + options_.head_channel + "\""));
    if (!options_.read_only) {
      SequencerOptions so;
      announcer_ = std::make_unique<PgAnnouncer>(options_.url, options_.head_channel, options_.wake_channel);
      so.url = options_.url;
      so.wake_channel = options_.wake_channel;
      sequencer_ = std::make_unique<Sequencer>(so, [this](std::span<const NumberedEvent> events, std::uint64_t h) {
        AdvanceHead(h);
        waits_.NumberedBySequencer(events);
        announcer_->Head(h, events, /*awaited=*/true);
      });
      RETURN_IF_ERROR(sequencer_->Start());
      for (int i = 0; i < std::max(1, options_.append_connections); ++i) {
        writers_.emplace_back([this, i] {
          NameThisThread("pg-append");
          WriteLoop(i);
        });
      }
      resolver_ = std::thread([this] {
        NameThisThread("pg-positions");
        ResolveLoop();
      });
    }
    listener_ = std::thread([this] {
      NameThisThread("pg-listen");
      ListenLoop();
    });
    return Status::Ok();
  }

  // A blocking append commits on the caller's thread when it is the only one in progress, writer 0
  // is idle and nothing is queued (one appender, or a quiet moment): two thread hand-offs fewer on
  // its way to the answer (1 x 1 +7 %, docs/benchmarks.md). Else it queues for the writers like
  // AppendAsync: with other appends about, the writer's moment of waking lets them join the batch
  // (taking the caller's way whenever the writer was idle made 4 x 2's batches smaller, 6-9 % slower).
  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const EventData> events) override EXCLUDES(mu_) {
    Mutex m;
    CondVar cv;
    std::optional<Result<AppendResult>> out;  // under m
    auto done = [&](Result<AppendResult> r) {
      MutexLock lock(m);
      out = std::move(r);
      cv.Signal();
    };
    Result<PendingAppend> p = Pending(stream, expected, events, done);
    if (!p.ok()) return p.status();
    const bool alone = blocking_appends_.fetch_add(1) == 0;
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { n.fetch_sub(1); }
    } leave{blocking_appends_};
    bool mine = false;
    {
      MutexLock lock(mu_);
      if (stopping_) return Unavailable("postgres store: closed");
      mine = alone && !first_busy_ && queue_.empty();
      if (mine) {
        first_busy_ = true;
      } else {
        Enqueue(std::move(*p));
      }
    }
    if (mine) {
      std::vector<PendingAppend> batch;
      batch.push_back(std::move(*p));
      CommitBatch(first_appender_, batch);
      MutexLock lock(mu_);
      first_busy_ = false;
      queued_first_.Signal();  // what arrived meanwhile is writer 0's now (and a closing store's)
    }
    MutexLock lock(m);
    while (!out.has_value()) cv.Wait(m);
    return std::move(*out);
  }

  void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                   std::function<void(Result<AppendResult>)> done) override EXCLUDES(mu_) {
    Result<PendingAppend> p = Pending(stream, expected, events, std::move(done));
    if (!p.ok()) return;  // answered
    {
      MutexLock lock(mu_);
      if (!stopping_) {
        Enqueue(std::move(*p));
        return;
      }
    }
    p->done(Unavailable("postgres store: closed"));  // not under the lock: the callback may do anything
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override {
    return reads_.With([&](pg::Connection& c) -> Result<std::vector<RecordedEvent>> {
      ASSIGN_OR_RETURN(
          pg::Rows rows,
          c.QueryPrepared("SELECT " + std::string(kColumns) +
                              " FROM events WHERE stream = $1 AND version >= $2 AND position IS NOT NULL "
                              "ORDER BY version LIMIT $3",
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

  // Committed events count, numbered or not: this is the version an exact append must name.
  Result<StreamVersion> GetStreamVersion(std::string_view stream) const override {
    return reads_.With([&](pg::Connection& c) -> Result<StreamVersion> {
      ASSIGN_OR_RETURN(pg::Rows rows, c.QueryPrepared("SELECT coalesce((SELECT version FROM events WHERE stream = $1 "
                                                      "ORDER BY version DESC LIMIT 1), 0)",
                                                      {Param::Text(std::string(stream))}));
      return StreamVersion(static_cast<std::uint64_t>(rows.Int(0, 0)));
    });
  }

  Position Head() const override { return Position(head_.load()); }

  Status Health() const override {
    return reachable_.load() ? Status::Ok() : Unavailable("postgres: the server does not answer");
  }

  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const override EXCLUDES(head_mu_) {
    MutexLock lock(head_mu_);
    while (head_.load() < p.value()) {
      if (!head_cv_.WaitUntil(head_mu_, deadline)) return head_.load() >= p.value();
    }
    return true;
  }

  Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                  EventBatchHandler handler) override {
    return StartPollingSubscription(*this, from, max_batch, std::move(handler), /*retry_unavailable=*/true);
  }

  Result<std::unique_ptr<Subscription>> SubscribeToQuery(Query query, Position from, std::size_t max_batch,
                                                         EventBatchHandler handler) override {
    return StartQuerySubscription(*this, std::move(query), from, max_batch, std::move(handler),
                                  /*retry_unavailable=*/true);
  }

  // One transaction of its own, on a connection of its own (not batched with other appends: its
  // all-or-nothing and its condition are the transaction's), then the positions as for Append.
  Result<MultiAppendResult> AppendToStreams(std::span<const StreamAppend> appends,
                                            const std::optional<AppendCondition>& condition) override
      EXCLUDES(mu_, appenders_mu_) {
    if (options_.read_only) return Unavailable("postgres store: opened read-only: appends go to a write process");
    RETURN_IF_ERROR(ValidateStreamAppends(appends));
    if (condition) RETURN_IF_ERROR(ValidateQuery(condition->query));  // the head is checked on the server
    std::vector<PendingAppend> pending;
    for (const StreamAppend& a : appends) {
      ASSIGN_OR_RETURN(PendingAppend p, Pending(a.stream, a.expected, a.events, [](Result<AppendResult>) {}));
      pending.push_back(std::move(p));
    }
    std::unique_ptr<PgAppender> appender;
    {
      MutexLock lock(appenders_mu_);
      if (!idle_appenders_.empty()) {
        appender = std::move(idle_appenders_.back());
        idle_appenders_.pop_back();
      }
    }
    if (!appender) appender = std::make_unique<PgAppender>(options_.url);
    AppendCommit commit = appender->CommitAll(pending, condition, NumberingToken());
    {
      MutexLock lock(appenders_mu_);
      if (idle_appenders_.size() < kIdleAppenders) idle_appenders_.push_back(std::move(appender));
    }
    if (!commit.numbered.empty()) {
      AdvanceHead(commit.head);
      waits_.NumberedBySequencer(commit.numbered);
    }
    announcer_->Head(commit.head, commit.numbered, commit.numbered_backlog);
    if (commit.refused) return *commit.refused;
    for (const Result<Placement>& r : commit.appends) RETURN_IF_ERROR(r.status());
    // Answered once every stream's events are numbered.
    Mutex m;
    CondVar cv;
    std::vector<std::optional<Result<AppendResult>>> results(pending.size());  // under m
    std::size_t left = pending.size();                                         // under m
    bool waiting = false;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      waiting = waiting || std::count(commit.appends[i]->positions.begin(), commit.appends[i]->positions.end(), 0u);
      waits_.Add(std::move(*commit.appends[i]), [&, i](Result<AppendResult> r) {
        MutexLock lock(m);
        results[i] = std::move(r);
        if (--left == 0) cv.Signal();
      });
    }
    if (waiting) {
      if (sequencer_->leading()) {
        sequencer_->Wake();
      } else {
        announcer_->Wake();
      }
    }
    MutexLock lock(m);
    while (left != 0) cv.Wait(m);
    MultiAppendResult out;
    for (auto& r : results) {
      if (!r->ok()) return r->status();
      out.streams.push_back(std::move(r->value()));
    }
    out.idempotent_replay =
        std::all_of(out.streams.begin(), out.streams.end(), [](const AppendResult& r) { return r.idempotent_replay; });
    out.first_position = out.streams.front().first_position;
    out.last_position = out.streams.front().last_position;
    for (const AppendResult& r : out.streams) {
      out.first_position = std::min(out.first_position, r.first_position);
      out.last_position = std::max(out.last_position, r.last_position);
    }
    return out;
  }

  // The matching positions and the head in one snapshot (cqrs_query_positions is STABLE), then
  // the events by position.
  Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const override {
    RETURN_IF_ERROR(ValidateQuery(query));
    if (max == 0) return InvalidArgument("max: must be > 0");
    std::vector<std::string> qt_item, qt_tag, qy_item, qy_type;
    for (std::size_t i = 0; i < query.items.size(); ++i) {
      for (const std::string& t : query.items[i].tags) {
        qt_item.push_back(std::to_string(i + 1));
        qt_tag.push_back(t);
      }
      for (const std::string& t : query.items[i].types) {
        qy_item.push_back(std::to_string(i + 1));
        qy_type.push_back(t);
      }
    }
    return reads_.With([&](pg::Connection& c) -> Result<QueryResult> {
      ASSIGN_OR_RETURN(
          pg::Rows rows,
          c.QueryPrepared(
              "WITH h AS MATERIALIZED (SELECT position AS head FROM log_head WHERE id = 1) "
              "SELECT q.*, h.head FROM h LEFT JOIN LATERAL (SELECT " +
                  std::string(kColumns) +
                  " FROM events WHERE position = ANY(ARRAY(SELECT cqrs_query_positions($1, $2::int[], $3::text[], "
                  "$4::int[], $5::text[], $6, h.head, $7)))) q ON true ORDER BY q.position",
              {Param::Int(static_cast<std::int64_t>(query.items.size())), Param::Text(pg::ArrayLiteral(qt_item)),
               Param::Text(pg::ArrayLiteral(qt_tag)), Param::Text(pg::ArrayLiteral(qy_item)),
               Param::Text(pg::ArrayLiteral(qy_type)), Param::Int(static_cast<std::int64_t>(after.value())),
               Param::Int(static_cast<std::int64_t>(std::min<std::size_t>(max, INT32_MAX)))}));
      QueryResult out;
      if (rows.empty()) return Internal("postgres: the log_head row is missing");
      out.head = Position(static_cast<std::uint64_t>(rows.Int(0, pg_rows::kColumnCount)));
      for (int i = 0; i < rows.size(); ++i) {
        if (rows.IsNull(i, 3)) continue;  // no match: the one row carries the head alone
        out.events.push_back(FromRow(rows, i));
      }
      if (out.events.size() == max) out.head = out.events.back().position;
      AdvanceHead(out.head.value());
      return out;
    });
  }

 private:
  // The append as a writer takes it, or its error (then `done` has been called with it).
  Result<PendingAppend> Pending(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                                std::function<void(Result<AppendResult>)> done) const {
    Status st;
    if (options_.read_only) {
      st = Unavailable(
          "postgres store: opened read-only (a read process, or a read replica): appends go to a write process");
    } else if (Status valid = ValidateEvents(events); !valid.ok()) {
      st = valid;
    } else if (stream.empty() || stream.find('\0') != std::string_view::npos) {
      st = InvalidArgument("stream: must be non-empty text without NUL bytes");
    }
    if (!st.ok()) {
      done(st);
      return st;
    }
    PendingAppend p{std::string(stream), expected, std::vector<EventData>(events.begin(), events.end()),
                    std::move(done)};
    const TimestampUs now = NowUs();
    for (EventData& e : p.events) {
      if (e.timestamp_us == 0) e.timestamp_us = now;
    }
    return p;
  }

  void Enqueue(PendingAppend p) REQUIRES(mu_) {
    queue_.push_back(std::move(p));
    // Wake only a writer that may take it (see WriteLoop): writer 0 always may.
    queued_first_.Signal();
    if (!OneWriterOnly()) queued_.Signal();
  }

  void AdvanceHead(std::uint64_t p) const EXCLUDES(head_mu_) {
    std::uint64_t cur = head_.load();
    while (p > cur && !head_.compare_exchange_weak(cur, p)) {
    }
    if (p > cur) {
      MutexLock lock(head_mu_);
      head_cv_.SignalAll();
    }
  }

  // Whether only writer 0 takes batches now: while this process's transactions number, one with
  // every pending append beats several smaller ones (which would queue on the head row, or with
  // kAnyFree find it busy and wait for a second commit; measured in docs/benchmarks.md).
  bool OneWriterOnly() const {
    return options_.numbering == PostgresStoreOptions::Numbering::kAnyFree ||
           (options_.numbering == PostgresStoreOptions::Numbering::kLeaderInline && sequencer_->leading());
  }

  // What cqrs_append numbers under (schema.cc): -1 if the head is free, the fencing
  // token (0 when not leading), or 0: never.
  std::int64_t NumberingToken() const {
    switch (options_.numbering) {
      case PostgresStoreOptions::Numbering::kAnyFree:
        return -1;
      case PostgresStoreOptions::Numbering::kLeaderInline:
        return sequencer_->token();
      case PostgresStoreOptions::Numbering::kSequencer:
        break;
    }
    return 0;
  }

  // One writer thread: batches from the queue, each in a transaction of its own connection. While
  // this process numbers its own appends, only writer 0 takes batches: such transactions take
  // turns on the head row from their numbering through their commit, so one transaction with
  // every pending append beats several smaller ones queued on the lock.
  void WriteLoop(int writer) EXCLUDES(mu_) {
    PgAppender own(options_.url);
    PgAppender& appender = writer == 0 ? first_appender_ : own;
    while (true) {
      std::vector<PendingAppend> batch;
      {
        MutexLock lock(mu_);
        CondVar& queued = writer == 0 ? queued_first_ : queued_;
        // Writer 0 also waits while a blocking Append holds its connection (that one signals).
        const auto held = [&]() REQUIRES(mu_) { return writer == 0 && first_busy_; };
        while (queue_.empty() || held() || (!stopping_ && writer != 0 && OneWriterOnly())) {
          if (stopping_ && queue_.empty() && !held()) return;  // nothing left
          queued.Wait(mu_);
        }
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (writer == 0) first_busy_ = true;
      }
      CommitBatch(appender, batch);
      if (writer == 0) {
        MutexLock lock(mu_);
        first_busy_ = false;
      }
    }
  }

  // One batch in one transaction of `appender`; each append answered, or handed to the position
  // waits until its events are numbered.
  void CommitBatch(PgAppender& appender, std::vector<PendingAppend>& batch) {
    const std::int64_t token = NumberingToken();
    if (options_.on_batch) options_.on_batch(batch.size());
    AppendCommit commit = appender.Commit(batch, token);
    if (!commit.numbered.empty()) {
      AdvanceHead(commit.head);
      waits_.NumberedBySequencer(commit.numbered);
    }
    announcer_->Head(commit.head, commit.numbered, commit.numbered_backlog);
    bool waiting = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!commit.appends[i].ok()) {
        batch[i].done(commit.appends[i].status());
        continue;
      }
      waiting = waiting || std::count(commit.appends[i]->positions.begin(), commit.appends[i]->positions.end(), 0u);
      waits_.Add(std::move(*commit.appends[i]), std::move(batch[i].done));
    }
    // Not numbered in the transaction: this process's sequencer is woken here, another's
    // through a NOTIFY. (A leader deposed without knowing it yet finds out in its next batch;
    // the new one numbers these rows within its idle poll.)
    if (waiting) {
      if (sequencer_->leading()) {
        sequencer_->Wake();
      } else {
        announcer_->Wake();
      }
    }
  }

  // The fallback for positions. They reach waiting appends with this process's own numbering
  // (the writers', the sequencer's), or with the head NOTIFY of the process that numbered them
  // (HeadNote, in ListenLoop). Looked up here: what has waited longer than kLookupAfter (its
  // positions did not fit in a NOTIFY, or the NOTIFY was lost with a connection), after each head
  // move or every 50 ms.
  void ResolveLoop() {
    constexpr auto kLookupAfter = std::chrono::milliseconds(20);
    std::uint64_t checked = head_.load();
    while (!closed_.load()) {
      if (waits_.empty()) {  // nothing to look up: not woken by every head that moves
        waits_.WaitUntilPending(std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
        checked = head_.load();
        continue;
      }
      WaitForPosition(Position(checked + 1), std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      std::chrono::steady_clock::time_point oldest;
      std::vector<std::int64_t> seqs = waits_.PendingSeqs(&oldest);
      checked = head_.load();
      if (seqs.empty() || std::chrono::steady_clock::now() - oldest < kLookupAfter) continue;
      std::vector<std::string> text;
      text.reserve(seqs.size());
      for (std::int64_t s : seqs) text.push_back(std::to_string(s));
      auto found = reads_.With([&](pg::Connection& c) -> Result<std::vector<NumberedEvent>> {
        // One primary-key probe per seq (a plain `seq = ANY($1)` may keep a sequential scan's plan).
        ASSIGN_OR_RETURN(pg::Rows rows,
                         c.QueryPrepared("SELECT s.seq, (SELECT e.position FROM events e WHERE e.seq = s.seq) "
                                         "FROM unnest($1::bigint[]) AS s(seq)",
                                         {Param::Text(pg::ArrayLiteral(text))}));
        std::vector<NumberedEvent> out;
        for (int i = 0; i < rows.size(); ++i) {
          if (!rows.IsNull(i, 1)) out.emplace_back(rows.Int(i, 0), static_cast<std::uint64_t>(rows.Int(i, 1)));
        }
        return out;
      });
      if (found.ok()) waits_.Numbered(*found);
    }
  }

  void ListenLoop() {
    // Safety net under LISTEN: a notification lost with a broken connection is made up for by
    // reading the head now and then.
    constexpr int kPollMs = 200;
    while (!closed_.load()) {
      if (!listen_conn_->healthy()) {
        reachable_.store(false);
        if (listen_conn_->Reconnect().ok() &&
            (replica_ || listen_conn_->Exec("LISTEN \"" + options_.head_channel + "\"").ok())) {
          PollHead();
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
        }
        continue;
      }
      if (replica_) {                                        // a standby cannot LISTEN: ask, often (one indexed row)
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
      for (const std::string& n : *notes) {
        // Appends of this process another one numbered are answered from the note (positions
        // first: an answer must find the head at its positions), the rest by the resolver.
        // With nothing waiting, only the head is read (the note's runs are not expanded).
        if (waits_.empty()) {
          AdvanceHead(std::strtoull(n.c_str(), nullptr, 10));
          continue;
        }
        const std::optional<HeadNote> note = HeadNote::Parse(n);
        if (!note) continue;
        if (!note->numbered.empty()) waits_.Numbered(note->numbered);
        AdvanceHead(note->head);
      }
    }
  }

  void PollHead() {
    // What this store saw before it asks: committed before the query's snapshot is taken, so the
    // answer is at least that, unless the database went back. (Read after the answer, it could be
    // a commit the snapshot missed.)
    const std::uint64_t seen = head_.load();
    auto head = listen_conn_->Query("SELECT position FROM log_head WHERE id = 1");
    reachable_.store(head.ok());
    if (!head.ok() || head->empty()) return;
    const auto at = static_cast<std::uint64_t>(head->Int(0, 0));
    if (at < seen && options_.on_went_back && !went_back_.exchange(true)) {
      options_.on_went_back(Position(seen), Position(at));
    }
    AdvanceHead(at);
  }

  const PostgresStoreOptions options_;
  pg::Pool reads_;
  std::unique_ptr<pg::Connection> listen_conn_;  // the listener thread's (Open's before it starts)
  bool replica_ = false;                         // opened on a hot standby (set by Open)
  std::unique_ptr<Sequencer> sequencer_;         // writable stores: this process's candidate
  PositionWaits waits_;                          // committed appends waiting for their positions
  std::unique_ptr<PgAnnouncer> announcer_;       // writable stores: NOTIFYs of heads and wake-ups

  // Connections for AppendToStreams, kept between calls (each call takes one of its own).
  static constexpr std::size_t kIdleAppenders = 8;
  Mutex appenders_mu_;
  std::vector<std::unique_ptr<PgAppender>> idle_appenders_ GUARDED_BY(appenders_mu_);

  Mutex mu_;
  CondVar queued_first_;  // writer 0 waits here
  CondVar queued_;        // the other writers
  std::deque<PendingAppend> queue_ GUARDED_BY(mu_);
  // Writer 0's connection, used by whoever set first_busy_: writer 0, or a blocking Append that
  // found it idle with nothing queued.
  PgAppender first_appender_{options_.url};
  bool first_busy_ GUARDED_BY(mu_) = false;
  std::atomic<int> blocking_appends_{0};   // Append calls in progress
  bool stopping_ GUARDED_BY(mu_) = false;  // no new appends; writers finish the queue
  std::atomic<bool> closed_{false};        // the resolver and the listener stop

  std::atomic<bool> reachable_{true};  // the listener's view of the server
  mutable std::atomic<std::uint64_t> head_{0};
  std::atomic<bool> went_back_{false};  // on_went_back called
  mutable Mutex head_mu_;               // for head_cv_ only: head_ is atomic
  mutable CondVar head_cv_;
  std::vector<std::thread> writers_;
  std::thread resolver_;
  std::thread listener_;
};

Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(const PostgresStoreOptions& options) {
  auto store = std::make_unique<PostgresEventStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace cqrs
