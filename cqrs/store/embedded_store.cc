#include "cqrs/store/embedded_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_set>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/store/append_checks.h"
#include "cqrs/store/index_builder.h"
#include "cqrs/store/polling_subscription.h"
#include "cqrs/store/query_index.h"
#include "cqrs/store/recorded_event.h"
#include "cqrs/store/stream_index.h"

namespace cqrs {

namespace {

// An append with expected = any or exists recognizes a retry if the retried events are among the
// stream's last this-many events. Exact and no_stream expectations are checked exactly.
constexpr std::size_t kIdempotencyWindow = 128;

// What an append turned out to be, decided under the store's lock.
struct Plan {
  bool replay = false;       // the events are already there: nothing to write
  MultiAppendResult result;  // what will be returned once durable
  // When the condition failed: the first matching event (named once the lock is released).
  Position condition_conflict;
};

}  // namespace

// Thread-safety: every method from any thread. Lock order: mu_ before the log's own locks
// (Prepare() stages records under mu_); mu_ is never held while waiting for the disk.
class EmbeddedEventStore final : public EventStore {
 public:
  // `index` holds every event of `log`: it is complete before the store is shared.
  EmbeddedEventStore(std::unique_ptr<log::Log> log, std::unique_ptr<StreamIndex> index,
                     std::unique_ptr<QueryIndex> query_index)
      : log_(std::move(log)), index_(std::move(index)), query_index_(std::move(query_index)) {}

  // Opens the log and rebuilds the index from it in the same pass.
  static Result<std::unique_ptr<EventStore>> Open(const EmbeddedStoreOptions& options) {
    log::LogOptions lo;
    lo.dir = options.dir;
    lo.segment_bytes = options.segment_bytes;
    lo.preallocate = options.preallocate;
    lo.on_commit = options.on_commit;
    auto index = std::make_unique<StreamIndex>();
    auto query_index = std::make_unique<QueryIndex>();
    IndexBuilder builder(*index, *query_index);
    lo.on_recover = [&builder](const log::RecordView& v) { builder.Add(v); };
    auto opened = log::Log::Open(std::move(lo));
    builder.Finish();
    if (!opened.ok()) return opened.status();
    if (options.on_recovery) options.on_recovery((*opened)->recovery());
    return std::unique_ptr<EventStore>(
        std::make_unique<EmbeddedEventStore>(std::move(*opened), std::move(index), std::move(query_index)));
  }

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const EventData> events) override EXCLUDES(mu_) {
    const StreamAppend one{stream, expected, events};
    ASSIGN_OR_RETURN(MultiAppendResult r, AppendToStreams(std::span(&one, 1), std::nullopt));
    return std::move(r.streams.front());
  }

  Result<MultiAppendResult> AppendToStreams(std::span<const StreamAppend> appends,
                                            const std::optional<AppendCondition>& condition) override EXCLUDES(mu_) {
    ASSIGN_OR_RETURN(Plan plan, Prepare(appends, condition));
    if (plan.condition_conflict.value() != 0) return ConditionConflict(*condition, plan.condition_conflict);
    RETURN_IF_ERROR(log_->AwaitDurable(plan.result.last_position));
    if (plan.replay) {
      for (AppendResult& r : plan.result.streams) {
        ASSIGN_OR_RETURN(r, WithOriginal(r));
      }
    }
    return std::move(plan.result);
  }

  Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const override EXCLUDES(mu_) {
    RETURN_IF_ERROR(ValidateQuery(query));
    QueryResult out;
    out.head = log_->durable_head();
    if (max == 0) return InvalidArgument("max: must be > 0");
    std::vector<Position> positions;
    {
      MutexLock lock(mu_);
      positions = query_index_->Matching(query, after, out.head, max);
    }
    if (positions.size() == max) out.head = positions.back();
    out.events.reserve(positions.size());
    for (Position p : positions) {
      RETURN_IF_ERROR(log_->Scan(p, 1, [&](const log::RecordView& v) {
        out.events.push_back(ToRecorded(v));
        return true;
      }));
    }
    return out;
  }

  void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                   std::function<void(Result<AppendResult>)> done) override EXCLUDES(mu_) {
    const StreamAppend one{stream, expected, events};
    auto plan = Prepare(std::span(&one, 1), std::nullopt);
    if (!plan.ok()) {
      done(plan.status());
      return;
    }
    if (plan->replay) {
      // A retry: its events may still be on their way to disk (a duplicate racing the first).
      // The stored original is read once they are durable, which is at once in the usual case.
      const AppendResult r = plan->result.streams.front();
      if (r.last_position <= log_->durable_head()) return done(WithOriginal(r));
      log_->OnDurable(r.last_position, [this, r, done = std::move(done)](const Status& st) {
        if (st.ok()) {
          done(WithOriginal(r));
        } else {
          done(st);
        }
      });
      return;
    }
    const AppendResult r = plan->result.streams.front();
    log_->OnDurable(r.last_position, [r, done = std::move(done)](const Status& st) {
      if (st.ok()) {
        done(r);
      } else {
        done(st);
      }
    });
  }

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override EXCLUDES(mu_) {
    std::vector<Position> positions;
    {
      const Position head = log_->durable_head();
      MutexLock lock(mu_);
      const auto* entries = index_->Find(stream);
      if (entries == nullptr) return std::vector<RecordedEvent>{};
      const std::size_t start = from.value() == 0 ? 0 : from.value() - 1;
      for (std::size_t i = start; i < entries->size() && positions.size() < max; ++i) {
        if ((*entries)[i].position > head) break;
        positions.push_back((*entries)[i].position);
      }
    }
    std::vector<RecordedEvent> out;
    out.reserve(positions.size());
    for (Position p : positions) {
      RETURN_IF_ERROR(log_->Scan(p, 1, [&](const log::RecordView& v) {
        out.push_back(ToRecorded(v));
        return true;
      }));
    }
    return out;
  }

  Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const override {
    std::vector<RecordedEvent> out;
    RETURN_IF_ERROR(log_->Scan(from, max, [&](const log::RecordView& v) {
      out.push_back(ToRecorded(v));
      return true;
    }));
    return out;
  }

  Result<StreamVersion> GetStreamVersion(std::string_view stream) const override EXCLUDES(mu_) {
    const Position head = log_->durable_head();
    MutexLock lock(mu_);
    const auto* entries = index_->Find(stream);
    if (entries == nullptr) return StreamVersion(0);
    // Staged events sit at the end; count back past them.
    std::size_t n = entries->size();
    while (n > 0 && (*entries)[n - 1].position > head) --n;
    return StreamVersion(n);
  }

  Position Head() const override { return log_->durable_head(); }

  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const override {
    return log_->WaitForDurable(p, deadline);
  }

  Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                  EventBatchHandler handler) override;
  Result<std::unique_ptr<Subscription>> SubscribeToQuery(Query query, Position from, std::size_t max_batch,
                                                         EventBatchHandler handler) override {
    return StartQuerySubscription(*this, std::move(query), from, max_batch, std::move(handler));
  }

 private:
  Result<Plan> Prepare(std::span<const StreamAppend> appends, const std::optional<AppendCondition>& condition)
      EXCLUDES(mu_);
  // The conflict of a failed condition, naming the event at `at` (waits for it to be durable:
  // it may be another append's staged event).
  Status ConditionConflict(const AppendCondition& condition, Position at) const;
  std::optional<Result<AppendResult>> CheckRetry(const std::vector<StreamIndex::Entry>& entries,
                                                 ExpectedVersion expected, std::span<const EventData> events) const;

  // A durable replay's result with the first event's stored timestamp and metadata (one read).
  Result<AppendResult> WithOriginal(AppendResult r) const {
    RETURN_IF_ERROR(log_->Scan(r.first_position, 1, [&](const log::RecordView& v) {
      r.original = AppendResult::Original{v.timestamp_us, std::string(v.metadata)};
      return false;
    }));
    return r;
  }

  const std::unique_ptr<log::Log> log_;  // thread-safe

  mutable Mutex mu_;  // held briefly: no I/O under it
  const std::unique_ptr<StreamIndex> index_ PT_GUARDED_BY(mu_);
  const std::unique_ptr<QueryIndex> query_index_ PT_GUARDED_BY(mu_);
};

Status EmbeddedEventStore::ConditionConflict(const AppendCondition& condition, Position at) const {
  std::string what = "event at position " + std::to_string(at.value());
  if (log_->AwaitDurable(at).ok()) {
    (void)log_->Scan(at, 1, [&](const log::RecordView& v) {
      what = "event " + v.event_id.ToString() + " (" + std::string(v.type) + ", stream " + std::string(v.stream) +
             ", position " + std::to_string(at.value()) + ")";
      return false;
    });
  }
  return VersionConflict("append condition failed: " + what + " matches the query after position " +
                         std::to_string(condition.after.value()));
}

std::optional<Result<AppendResult>> EmbeddedEventStore::CheckRetry(const std::vector<StreamIndex::Entry>& entries,
                                                                   ExpectedVersion expected,
                                                                   std::span<const EventData> events) const {
  // Where would the first event be if this is a retry of an append that already happened?
  std::optional<std::size_t> at;
  const Uuid& first = events.front().event_id;
  if (expected.kind() == ExpectedVersion::Kind::kExact || expected.kind() == ExpectedVersion::Kind::kNoStream) {
    const std::size_t i = expected.version().value();
    if (i < entries.size() && entries[i].event_id == first) at = i;
  } else {
    const std::size_t lo = entries.size() > kIdempotencyWindow ? entries.size() - kIdempotencyWindow : 0;
    for (std::size_t i = entries.size(); i-- > lo;) {
      if (entries[i].event_id == first) {
        at = i;
        break;
      }
    }
  }
  if (!at) return std::nullopt;
  const std::size_t i = *at;
  bool same = i + events.size() <= entries.size();
  for (std::size_t k = 0; same && k < events.size(); ++k) {
    same = entries[i + k].event_id == events[k].event_id;
  }
  if (!same) {
    return Result<AppendResult>(AlreadyExists("event " + first.ToString() + " is already in the stream at version " +
                                              std::to_string(i + 1) + ", followed by different events"));
  }
  AppendResult r;
  r.first_version = StreamVersion(i + 1);
  r.last_version = StreamVersion(i + events.size());
  r.first_position = entries[i].position;
  r.last_position = entries[i + events.size() - 1].position;
  r.idempotent_replay = true;
  return Result<AppendResult>(r);
}

Result<Plan> EmbeddedEventStore::Prepare(std::span<const StreamAppend> appends,
                                         const std::optional<AppendCondition>& condition) {
  RETURN_IF_ERROR(ValidateStreamAppends(appends));
  // The durable head only grows: a condition not past it now is not past it under the lock.
  RETURN_IF_ERROR(ValidateCondition(condition, log_->durable_head()));
  const TimestampUs now = NowUs();
  static const std::vector<StreamIndex::Entry> kEmpty;
  Plan plan;
  // Everything below, up to Stage(), is one decision: versions and condition are checked against
  // the indexes (staged events included) and the records staged before anyone else can stage.
  // That is the group commit's order, so the check holds for the log as written; no I/O here.
  MutexLock lock(mu_);
  std::vector<const std::vector<StreamIndex::Entry>*> entries(appends.size());
  std::size_t replays = 0;
  for (std::size_t i = 0; i < appends.size(); ++i) {
    const auto* found = index_->Find(appends[i].stream);
    entries[i] = found ? found : &kEmpty;
    auto retry = CheckRetry(*entries[i], appends[i].expected, appends[i].events);
    if (!retry) continue;
    if (!retry->ok()) return retry->status();
    plan.result.streams.push_back(**retry);
    ++replays;
  }
  if (replays == appends.size()) {
    plan.replay = true;
    plan.result.idempotent_replay = true;
    plan.result.first_position = plan.result.streams.front().first_position;
    plan.result.last_position = plan.result.streams.front().last_position;
    for (const AppendResult& r : plan.result.streams) {
      plan.result.first_position = std::min(plan.result.first_position, r.first_position);
      plan.result.last_position = std::max(plan.result.last_position, r.last_position);
    }
    return plan;
  }
  if (replays != 0) {
    return AlreadyExists("some of the streams already hold these events and others do not: not a retry of one append");
  }
  plan.result.streams.clear();
  for (std::size_t i = 0; i < appends.size(); ++i) {
    const StreamVersion current(entries[i]->size());
    if (!appends[i].expected.IsSatisfiedBy(current)) {
      return VersionConflict("stream " + std::string(appends[i].stream) + " is at version " +
                             std::to_string(current.value()) + ", expected " + appends[i].expected.ToString());
    }
  }
  if (condition) {
    const Position first = query_index_->FirstMatch(condition->query, condition->after, log_->staged_head());
    if (first.value() != 0) {
      plan.condition_conflict = first;
      return plan;
    }
  }
  std::vector<log::RecordDraft> drafts;
  for (std::size_t i = 0; i < appends.size(); ++i) {
    const StreamVersion current(entries[i]->size());
    for (std::size_t k = 0; k < appends[i].events.size(); ++k) {
      const EventData& e = appends[i].events[k];
      log::RecordDraft& d = drafts.emplace_back();
      d.event_id = e.event_id;
      d.stream = appends[i].stream;
      d.version = current + (k + 1);
      d.type = e.type;
      d.schema_version = e.schema_version;
      d.timestamp_us = e.timestamp_us != 0 ? e.timestamp_us : now;
      d.correlation_id = e.correlation_id;
      d.causation_id = e.causation_id;
      d.metadata = e.metadata;
      d.payload = e.payload;
      d.tags = e.tags;
    }
  }
  ASSIGN_OR_RETURN(log::PositionRange range, log_->Stage(drafts));
  Position p = range.first;
  for (std::size_t i = 0; i < appends.size(); ++i) {
    const StreamVersion current(entries[i]->size());
    AppendResult& r = plan.result.streams.emplace_back();
    r.first_version = current.next();
    r.last_version = current + appends[i].events.size();
    r.first_position = p;
    for (const EventData& e : appends[i].events) {
      index_->Add(appends[i].stream, p, e.event_id);
      query_index_->AddType(p, e.type);
      for (const std::string& tag : e.tags) query_index_->AddTag(p, tag);
      r.last_position = p;
      p = p.next();
    }
  }
  plan.result.first_position = range.first;
  plan.result.last_position = range.last;
  return plan;
}

Result<std::unique_ptr<Subscription>> EmbeddedEventStore::Subscribe(Position from, std::size_t max_batch,
                                                                    EventBatchHandler handler) {
  return StartPollingSubscription(*this, from, max_batch, std::move(handler));
}

Result<std::unique_ptr<EventStore>> OpenEmbeddedEventStore(const EmbeddedStoreOptions& options) {
  return EmbeddedEventStore::Open(options);
}

}  // namespace cqrs
