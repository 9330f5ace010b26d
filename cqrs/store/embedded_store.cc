#include "cqrs/store/embedded_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_set>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"
#include "cqrs/store/append_checks.h"
#include "cqrs/store/index_builder.h"
#include "cqrs/store/polling_subscription.h"
#include "cqrs/store/recorded_event.h"
#include "cqrs/store/stream_index.h"

namespace cqrs {

namespace {

// An append with expected = any or exists recognizes a retry if the retried events are among the
// stream's last this-many events. Exact and no_stream expectations are checked exactly.
constexpr std::size_t kIdempotencyWindow = 128;

// What an append turned out to be, decided under the store's lock.
struct Plan {
  std::optional<AppendResult> replay;  // the events are already there: nothing to write
  AppendResult result;                 // when writing: what will be returned once durable
};

}  // namespace

// Thread-safety: every method from any thread. Lock order: mu_ before the log's own locks
// (Prepare() stages records under mu_); mu_ is never held while waiting for the disk.
class EmbeddedEventStore final : public EventStore {
 public:
  // `index` holds every event of `log`: it is complete before the store is shared.
  EmbeddedEventStore(std::unique_ptr<log::Log> log, std::unique_ptr<StreamIndex> index)
      : log_(std::move(log)), index_(std::move(index)) {}

  // Opens the log and rebuilds the index from it in the same pass.
  static Result<std::unique_ptr<EventStore>> Open(const EmbeddedStoreOptions& options) {
    log::LogOptions lo;
    lo.dir = options.dir;
    lo.segment_bytes = options.segment_bytes;
    lo.preallocate = options.preallocate;
    lo.on_commit = options.on_commit;
    auto index = std::make_unique<StreamIndex>();
    IndexBuilder builder(*index);
    lo.on_recover = [&builder](const log::RecordView& v) { builder.Add(v); };
    auto opened = log::Log::Open(std::move(lo));
    builder.Finish();
    if (!opened.ok()) return opened.status();
    if (options.on_recovery) options.on_recovery((*opened)->recovery());
    return std::unique_ptr<EventStore>(std::make_unique<EmbeddedEventStore>(std::move(*opened), std::move(index)));
  }

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const EventData> events) override EXCLUDES(mu_) {
    ASSIGN_OR_RETURN(Plan plan, Prepare(stream, expected, events));
    const AppendResult& r = plan.replay ? *plan.replay : plan.result;
    RETURN_IF_ERROR(log_->AwaitDurable(r.last_position));
    if (plan.replay) return WithOriginal(r);
    return r;
  }

  void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                   std::function<void(Result<AppendResult>)> done) override EXCLUDES(mu_) {
    auto plan = Prepare(stream, expected, events);
    if (!plan.ok()) {
      done(plan.status());
      return;
    }
    if (plan->replay) {
      // A retry: its events may still be on their way to disk (a duplicate racing the first).
      // The stored original is read once they are durable, which is at once in the usual case.
      const AppendResult r = *plan->replay;
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
    const AppendResult r = plan->result;
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

 private:
  Result<Plan> Prepare(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events)
      EXCLUDES(mu_);
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
};

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

Result<Plan> EmbeddedEventStore::Prepare(std::string_view stream, ExpectedVersion expected,
                                         std::span<const EventData> events) {
  RETURN_IF_ERROR(ValidateEvents(events));
  const TimestampUs now = NowUs();
  MutexLock lock(mu_);
  static const std::vector<StreamIndex::Entry> kEmpty;
  const auto* found = index_->Find(stream);
  const auto& entries = found ? *found : kEmpty;
  if (auto retry = CheckRetry(entries, expected, events)) {
    if (!retry->ok()) return retry->status();
    return Plan{**retry, {}};
  }
  const StreamVersion current(entries.size());
  if (!expected.IsSatisfiedBy(current)) {
    return VersionConflict("stream " + std::string(stream) + " is at version " + std::to_string(current.value()) +
                           ", expected " + expected.ToString());
  }
  std::vector<log::RecordDraft> drafts(events.size());
  for (std::size_t k = 0; k < events.size(); ++k) {
    const EventData& e = events[k];
    log::RecordDraft& d = drafts[k];
    d.event_id = e.event_id;
    d.stream = stream;
    d.version = current + (k + 1);
    d.type = e.type;
    d.schema_version = e.schema_version;
    d.timestamp_us = e.timestamp_us != 0 ? e.timestamp_us : now;
    d.correlation_id = e.correlation_id;
    d.causation_id = e.causation_id;
    d.metadata = e.metadata;
    d.payload = e.payload;
  }
  ASSIGN_OR_RETURN(log::PositionRange range, log_->Stage(drafts));
  for (std::size_t k = 0; k < events.size(); ++k) {
    index_->Add(stream, range.first + k, events[k].event_id);
  }
  Plan plan;
  plan.result.first_version = current.next();
  plan.result.last_version = current + events.size();
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
