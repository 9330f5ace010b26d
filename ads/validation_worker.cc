#include "ads/validation_worker.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ads/events.h"

namespace adsd::ads {

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

cqrs::Status ValidationWorker::Decide(const cqrs::RecordedEvent& e) {
  ASSIGN_OR_RETURN(std::optional<Verdict> v, Judge(e));
  if (!v) return cqrs::Status::Ok();
  // Expected version = the judged event's: a redelivery is recognized (same id) and a verdict on
  // a version that has changed since is a conflict, dropped: the change is judged on its own.
  auto r = store_.Append(v->stream, cqrs::ExpectedVersion::Exact(v->expected), std::span(&v->event, 1));
  if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict) return r.status();
  if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
  return cqrs::Status::Ok();
}

cqrs::Status ValidationWorker::DecideBatch(std::span<const cqrs::RecordedEvent> batch) {
  std::vector<Verdict> verdicts;
  for (const auto& e : batch) {
    ASSIGN_OR_RETURN(std::optional<Verdict> v, JudgePatiently(e));
    if (v) verdicts.push_back(std::move(*v));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::size_t pending = verdicts.size();
  cqrs::Status failure;
  for (const Verdict& v : verdicts) {
    store_.AppendAsync(v.stream, cqrs::ExpectedVersion::Exact(v.expected), std::span(&v.event, 1),
                       [&](cqrs::Result<cqrs::AppendResult> r) {
                         std::lock_guard lock(mu);
                         if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
                         if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict && failure.ok()) {
                           failure = r.status();
                         }
                         if (--pending == 0) cv.notify_all();
                       });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
  return failure;
}

cqrs::Status ValidationWorker::Start() {
  const cqrs::Position from = offsets_.Load(std::string(kGroup));
  position_.store(from.value());
  ASSIGN_OR_RETURN(subscription_,
                   store_.Subscribe(from.next(), 512, [this](std::span<const cqrs::RecordedEvent> batch) {
                     RETURN_IF_ERROR(DecideBatch(batch));
                     // Committed only once every verdict of the batch is durable: at-least-once.
                     RETURN_IF_ERROR(offsets_.Commit(std::string(kGroup), batch.back().position));
                     position_.store(batch.back().position.value());
                     return cqrs::Status::Ok();
                   }));
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads
