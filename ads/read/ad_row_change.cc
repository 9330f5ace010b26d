#include "ads/read/ad_row_change.h"

#include "ads/events.h"
#include "ads/read/read_model.h"
#include "cqrs/core/time.h"

namespace adsd::ads {

cqrs::Result<std::optional<AdRowChange>> AdRowChangeOf(const cqrs::RecordedEvent& e) {
  auto id = events::AdIdOf(e.stream);
  if (!id) return std::optional<AdRowChange>();  // not an ad stream
  AdRowChange c;
  c.ad_id = id->ToString();
  c.version = static_cast<std::int64_t>(e.version.value());
  c.position = static_cast<std::int64_t>(e.position.value());
  c.at_us = e.timestamp_us;
  if (e.type == events::kSubmitted || e.type == events::kChanged) {
    ASSIGN_OR_RETURN(events::RawContent content, events::ParseRawContent(e.payload));
    c.kind = e.type == events::kSubmitted ? AdRowChange::Kind::kSubmitted : AdRowChange::Kind::kChanged;
    c.retailer = std::move(content.retailer);
    c.ad_json = std::move(content.ad_json);
  } else if (e.type == events::kApproved || e.type == events::kRejected) {
    ASSIGN_OR_RETURN(c.reasons_json, events::ReasonsJson(e.payload));
    c.kind = AdRowChange::Kind::kDecided;
    c.status = e.type == events::kApproved ? "approved" : "rejected";
    c.decided_day = cqrs::UtcDay(e.timestamp_us);
  } else if (e.type == events::kWithdrawn) {
    c.kind = AdRowChange::Kind::kWithdrawn;
  } else {
    return std::optional<AdRowChange>();
  }
  return std::optional<AdRowChange>(std::move(c));
}

}  // namespace adsd::ads
