#include "ads/write/pipeline.h"

#include "ads/events.h"
#include "ads/write/idempotency.h"

namespace adsd::ads {

cqrs::EventData NewAdEvent(std::string_view type, std::string payload, const cqrs::Uuid& correlation) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();
  e.type = std::string(type);
  e.schema_version = events::kSchemaVersion;
  e.payload = std::move(payload);
  e.correlation_id = correlation;
  return e;
}

Rejection StoreRejection(const cqrs::Status& st) {
  if (st.code() == cqrs::StatusCode::kVersionConflict) return {RejectionCode::kStaleVersion, st.message(), {}};
  return {RejectionCode::kUnavailable, st.ToString(), {}};
}

CommandResult SubmissionOutcome(const cqrs::Result<cqrs::AppendResult>& r, const Submission& s) {
  if (!r.ok()) return StoreRejection(r.status());
  if (auto refused = CheckReplay(*r, s.event.metadata)) return std::move(*refused);
  return Accepted{s.ad_id, "pending", r->last_version, r->last_position, /*created=*/true, std::nullopt};
}

void RunWhereItMayWait(bool may_block, const BlockingExecutor& blocking, std::function<void()> task,
                       const CommandDone& done) {
  if (may_block) return task();
  if (!blocking(std::move(task))) {
    done(Rejection{RejectionCode::kOverloaded, "too many requests are waiting; retry shortly", {}});
  }
}

}  // namespace adsd::ads
