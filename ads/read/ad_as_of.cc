#include "ads/read/ad_as_of.h"

namespace adsd::ads {

void ApplyChange(const AdRowChange& c, std::optional<AdRow>& row) {
  using Kind = AdRowChange::Kind;
  if (c.kind == Kind::kSubmitted) {
    if (row) return;  // INSERT ... ON CONFLICT DO NOTHING
    row = AdRow{.ad_id = c.ad_id,
                .retailer = c.retailer,
                .status = "pending",
                .ad_json = c.ad_json,
                .reasons_json = "[]",
                .version = c.version,
                .position = c.position,
                .created_us = c.at_us,
                .updated_us = c.at_us};
    return;
  }
  // Every update applies only to an existing row at an older version.
  if (!row || row->version >= c.version) return;
  row->version = c.version;
  row->position = c.position;
  row->updated_us = c.at_us;
  switch (c.kind) {
    case Kind::kChanged:
      row->status = "pending";
      row->ad_json = c.ad_json;
      row->reasons_json = "[]";
      row->decided_us.reset();
      break;
    case Kind::kDecided:
      row->status = c.status;
      row->reasons_json = c.reasons_json;
      row->decided_us = c.at_us;
      break;
    case Kind::kWithdrawn:
      row->status = "withdrawn";
      break;
    case Kind::kSubmitted:
      break;
  }
}

cqrs::Result<std::optional<AdRow>> AdRowAt(std::span<const cqrs::RecordedEvent> events, const PastPoint& until) {
  std::optional<AdRow> row;
  for (const cqrs::RecordedEvent& e : events) {
    if (!until.Includes(e)) break;
    ASSIGN_OR_RETURN(std::optional<AdRowChange> change, AdRowChangeOf(e));
    if (change) ApplyChange(*change, row);
  }
  return row;
}

}  // namespace adsd::ads
