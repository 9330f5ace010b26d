#include "ads/validation_worker.h"

#include <thread>

#include "ads/events.h"

namespace adsd::ads {

cqrs::Status ValidationWorker::Decide(const cqrs::RecordedEvent& e) {
  if (e.type != events::kSubmitted && e.type != events::kChanged) return cqrs::Status::Ok();
  ASSIGN_OR_RETURN(events::AdContent content, events::ParseContent(e.payload));
  Verdict verdict;
  {
    std::lock_guard lock(flood_mu_);
    verdict = rules_.Evaluate(content.ad, {content.retailer, e.timestamp_us / 1'000'000, e.event_id.ToString()}, floods_);
  }
  if (external_ != nullptr) {
    ASSIGN_OR_RETURN(std::vector<Finding> more, external_->Validate(content.ad, content.retailer));
    for (auto& f : more) verdict.findings.push_back(std::move(f));
    verdict.approved = verdict.approved && more.empty();
  }
  cqrs::EventData v;
  v.event_id = events::DerivedId(e.event_id, "verdict");
  v.type = std::string(verdict.approved ? events::kApproved : events::kRejected);
  v.schema_version = events::kSchemaVersion;
  v.payload = events::VerdictPayload(verdict.findings);
  v.correlation_id = e.correlation_id.is_nil() ? e.event_id : e.correlation_id;
  v.causation_id = e.event_id;
  auto r = store_.Append(e.stream, cqrs::ExpectedVersion::Exact(e.version), std::span(&v, 1));
  if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict) return r.status();
  if (r.ok() && !r->idempotent_replay) decided_.fetch_add(1);
  return cqrs::Status::Ok();
}

cqrs::Status ValidationWorker::Start() {
  const cqrs::Position from = offsets_.Load(std::string(kGroup));
  position_.store(from.value());
  ASSIGN_OR_RETURN(subscription_,
                   store_.Subscribe(from.next(), 512, [this](std::span<const cqrs::RecordedEvent> batch) {
                     for (const auto& e : batch) {
                       // An unavailable validator keeps the ad pending: wait and try the same
                       // event again (order kept), until it answers or the worker stops.
                       auto pause = std::chrono::milliseconds(100);
                       while (true) {
                         cqrs::Status st = Decide(e);
                         if (st.ok()) break;
                         if (st.code() != cqrs::StatusCode::kUnavailable || stopping_.load()) return st;
                         std::this_thread::sleep_for(pause);  // backoff between retries
                         pause = std::min(pause * 2, std::chrono::milliseconds(2000));
                       }
                     }
                     RETURN_IF_ERROR(offsets_.Commit(std::string(kGroup), batch.back().position));
                     position_.store(batch.back().position.value());
                     return cqrs::Status::Ok();
                   }));
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads
