#include "cqrs/core/thread_name.h"
#include "ads/validation_worker.h"

#include <thread>

#include "ads/events.h"

namespace adsd::ads {

namespace {
using Clock = LatencyModel::Clock;
constexpr auto kCommitEvery = std::chrono::milliseconds(100);
}  // namespace

ValidationWorker::ValidationWorker(cqrs::EventStore& store, cqrs::log::ConsumerOffsets& offsets,
                                   const RuleEngine& rules, ExternalValidator* external,
                                   ValidationWorkerOptions options)
    : store_(store), offsets_(offsets), rules_(rules), external_(external), options_(std::move(options)) {}

ValidationWorker::~ValidationWorker() {
  stopping_.store(true);
  if (lanes_) lanes_->Stop();  // unblocks the subscription if it waits for room
  subscription_.reset();
  {
    // Verdict appends still in flight call back into this object: wait for them.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return appending_ == 0; });
    stop_commits_ = true;
  }
  cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

cqrs::Position ValidationWorker::position() const {
  const std::uint64_t started_at = position_.load();
  return cqrs::Position(lanes_ ? std::max(started_at, lanes_->watermark().value()) : started_at);
}

cqrs::Status ValidationWorker::status() const {
  {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
  }
  return subscription_ ? subscription_->status() : cqrs::Status::Ok();
}

void ValidationWorker::Pad(Step step, Clock::time_point began) const {
  if (options_.latency != nullptr) options_.latency->Pad(step, began);
}

cqrs::Result<std::optional<ValidationWorker::Verdict>> ValidationWorker::Judge(const cqrs::RecordedEvent& e) {
  if (e.type != events::kSubmitted && e.type != events::kChanged) return std::optional<Verdict>();
  ASSIGN_OR_RETURN(events::AdContent content, events::ParseContent(e.payload));
  ads::Verdict verdict;
  {
    std::lock_guard lock(flood_mu_);
    verdict = rules_.Evaluate(content.ad, {content.retailer, e.timestamp_us / 1'000'000, e.event_id.ToString()}, floods_);
  }
  if (external_ != nullptr) {
    ASSIGN_OR_RETURN(std::vector<Finding> more, external_->Validate(content.ad, content.retailer));
    for (auto& f : more) verdict.findings.push_back(std::move(f));
    verdict.approved = verdict.approved && more.empty();
  }
  Verdict v;
  v.stream = e.stream;
  v.expected = e.version;
  v.event.event_id = events::DerivedId(e.event_id, "verdict");
  v.event.type = std::string(verdict.approved ? events::kApproved : events::kRejected);
  v.event.schema_version = events::kSchemaVersion;
  v.event.payload = events::VerdictPayload(verdict.findings);
  v.event.correlation_id = e.correlation_id.is_nil() ? e.event_id : e.correlation_id;
  v.event.causation_id = e.event_id;
  return std::optional<Verdict>(std::move(v));
}

cqrs::Result<std::optional<ValidationWorker::Verdict>> ValidationWorker::JudgePatiently(const cqrs::RecordedEvent& e) {
  // An unavailable validator keeps the ad pending: wait and try the same event again (order
  // kept), until it answers or the worker stops.
  auto pause = std::chrono::milliseconds(100);
  while (true) {
    auto v = Judge(e);
    if (v.ok() || v.status().code() != cqrs::StatusCode::kUnavailable || stopping_.load()) return v;
    std::this_thread::sleep_for(pause);  // backoff between retries
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
}

cqrs::Result<bool> ValidationWorker::NeedsVerdict(const cqrs::RecordedEvent& e) const {
  if (e.type != events::kSubmitted && e.type != events::kChanged) return false;
  // Anything after the event (its verdict, a change judged on its own, a withdrawal) settles it.
  // (A read that can fail, not GetStreamVersion: a store that is down must not be taken for
  // "nothing after it", nor make a stopping worker wait.)
  ASSIGN_OR_RETURN(auto after, store_.ReadStream(e.stream, e.version.next(), 1));
  return after.empty();
}

cqrs::Status ValidationWorker::Decide(const cqrs::RecordedEvent& e, const std::function<void()>& stored) {
  Clock::time_point began = Clock::now();
  ASSIGN_OR_RETURN(std::optional<Verdict> v, Judge(e));
  if (!v) return cqrs::Status::Ok();
  Pad(Step::kDetailedValidation, began);
  began = Clock::now();
  // Expected version = the judged event's: a redelivery is recognized (same id) and a verdict on
  // a version that has changed since is a conflict, dropped: the change is judged on its own.
  auto r = store_.Append(v->stream, cqrs::ExpectedVersion::Exact(v->expected), std::span(&v->event, 1));
  if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict) return r.status();
  if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
  if (stored) stored();
  Pad(Step::kStoreValidationResults, began);
  return cqrs::Status::Ok();
}

void ValidationWorker::Fail(const cqrs::Status& st) {
  std::lock_guard lock(mu_);
  if (failure_.ok()) failure_ = st;
}

void ValidationWorker::AwaitGrace(const cqrs::RecordedEvent& e) const {
  if (options_.grace.count() == 0) return;
  const auto appended = std::chrono::system_clock::time_point(std::chrono::microseconds(e.timestamp_us));
  while (!stopping_.load() && std::chrono::system_clock::now() < appended + options_.grace) {
    std::this_thread::sleep_until(std::min(appended + options_.grace,
                                           std::chrono::system_clock::now() + std::chrono::milliseconds(100)));
  }
}

cqrs::Status ValidationWorker::Consume(const cqrs::RecordedEvent& e) {
  const cqrs::Status stopping = cqrs::Unavailable("validation worker stopping");
  if (e.type != events::kSubmitted && e.type != events::kChanged) return cqrs::Status::Ok();
  AwaitGrace(e);
  // A store that is down (a database restart) is waited for, as an unavailable validator is.
  auto pause = std::chrono::milliseconds(100);
  auto backoff = [&] {
    std::this_thread::sleep_for(pause);  // backoff between retries
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  };
  while (true) {
    if (stopping_.load()) return stopping;
    auto needed = NeedsVerdict(e);
    if (needed.ok()) {
      if (!*needed) return cqrs::Status::Ok();
      break;
    }
    if (needed.status().code() != cqrs::StatusCode::kUnavailable) return needed.status();
    backoff();
  }
  pause = std::chrono::milliseconds(100);
  Clock::time_point began = Clock::now();
  auto v = JudgePatiently(e);
  if (!v.ok()) return stopping_.load() ? stopping : v.status();
  if (!*v) return cqrs::Status::Ok();
  Pad(Step::kDetailedValidation, began);
  began = Clock::now();
  while (true) {
    auto r = store_.Append(v.value()->stream, cqrs::ExpectedVersion::Exact(v.value()->expected),
                           std::span(&v.value()->event, 1));
    if (r.ok() || r.status().code() == cqrs::StatusCode::kVersionConflict) {
      if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
      break;
    }
    if (r.status().code() != cqrs::StatusCode::kUnavailable) return r.status();
    if (stopping_.load()) return stopping;
    backoff();
  }
  Pad(Step::kStoreValidationResults, began);
  return cqrs::Status::Ok();
}

void ValidationWorker::Process(const cqrs::RecordedEvent& e) {
  AwaitGrace(e);
  if (stopping_.load()) return;
  auto needed = NeedsVerdict(e);
  if (!needed.ok()) return Fail(needed.status());  // not done: redone after a restart
  if (!*needed) return lanes_->Done(e.position);
  const bool modeled = options_.latency != nullptr && options_.latency->enabled();
  Clock::time_point began = Clock::now();
  if (options_.await_stored && modeled) {
    options_.await_stored(e.position);
    Pad(Step::kStoreIncomingRecord, began);
    began = Clock::now();
  }
  auto v = JudgePatiently(e);
  if (!v.ok()) {
    if (!stopping_.load()) Fail(v.status());
    return;  // not done: redone after a restart
  }
  if (!*v) return lanes_->Done(e.position);
  Pad(Step::kDetailedValidation, began);
  began = Clock::now();
  {
    std::lock_guard lock(mu_);
    ++appending_;
  }
  // With latencies modeled the lane waits for its verdict (the step lasts until it is stored);
  // otherwise it moves on and the verdicts of many ads share the log's group commit.
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  store_.AppendAsync(v.value()->stream, cqrs::ExpectedVersion::Exact(v.value()->expected),
                     std::span(&v.value()->event, 1), [&, this, modeled, position = e.position](cqrs::Result<cqrs::AppendResult> r) {
                       if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
                       if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict) {
                         Fail(r.status());
                       } else {
                         lanes_->Done(position);
                       }
                       if (modeled) {
                         std::lock_guard lock(done_mu);
                         done = true;
                         done_cv.notify_one();
                       }
                       std::lock_guard lock(mu_);
                       if (--appending_ == 0) cv_.notify_all();
                     });
  if (modeled) {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return done; });
    lock.unlock();
    Pad(Step::kStoreValidationResults, began);
  }
}

void ValidationWorker::CommitLoop() {
  cqrs::Position committed = position();
  std::unique_lock lock(mu_);
  while (true) {
    const bool last = cv_.wait_for(lock, kCommitEvery, [&] { return stop_commits_; });
    lock.unlock();
    const cqrs::Position at = lanes_->watermark();
    if (at > committed) {
      if (auto st = offsets_.Commit(std::string(kGroup), at); !st.ok()) {
        Fail(st);
      } else {
        committed = at;
      }
    }
    lock.lock();
    if (last) return;
  }
}

cqrs::Status ValidationWorker::Start() {
  const cqrs::Position from = offsets_.Load(std::string(kGroup));
  position_.store(from.value());
  const int lanes = std::max(1, options_.concurrency);
  lanes_ = std::make_unique<cqrs::projection::KeyedLanes>(lanes, std::max<std::size_t>(4096, 64 * lanes));
  committer_ = std::thread([this] {
    cqrs::NameThisThread("offset-commit");
    CommitLoop();
  });
  ASSIGN_OR_RETURN(subscription_,
                   store_.Subscribe(from.next(), 512, [this](std::span<const cqrs::RecordedEvent> batch) {
                     for (const cqrs::RecordedEvent& e : batch) {
                       const bool queued =
                           (e.type == events::kSubmitted || e.type == events::kChanged)
                               ? lanes_->Dispatch(e.position, e.stream, [this, e] { Process(e); })
                               : lanes_->Skip(e.position);
                       if (!queued) return cqrs::Unavailable("validation worker stopping");
                     }
                     std::lock_guard lock(mu_);
                     return failure_;
                   }));
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads
