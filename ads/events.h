// The events of an ad's stream "ad-<uuid>", and their JSON payloads (schema version 1).
//
//   AdSubmitted  {"retailer": "acme", "ad": {…the ad's JSON…}}
//   AdChanged    {"retailer": "acme", "ad": {…the whole ad after the change…}}
//   AdApproved   {"reasons": []}                          a verdict on the version before it
//   AdRejected   {"reasons": [{"code", "field", "message"}, …]}
//   AdWithdrawn  {"retailer": "acme"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ads/ad.h"
#include "ads/rules/rules.h"
#include "cqrs/core/status.h"
#include "cqrs/core/uuid.h"

namespace adsd::ads::events {

inline constexpr std::string_view kSubmitted = "AdSubmitted";
inline constexpr std::string_view kChanged = "AdChanged";
inline constexpr std::string_view kApproved = "AdApproved";
inline constexpr std::string_view kRejected = "AdRejected";
inline constexpr std::string_view kWithdrawn = "AdWithdrawn";
inline constexpr std::uint32_t kSchemaVersion = 1;

inline constexpr std::string_view kStreamPrefix = "ad-";
inline std::string StreamOf(const cqrs::Uuid& ad_id) { return std::string(kStreamPrefix) + ad_id.ToString(); }
std::optional<cqrs::Uuid> AdIdOf(std::string_view stream);

struct AdContent {
  std::string retailer;
  Ad ad;
};

std::string ContentPayload(const std::string& retailer, const Ad& ad);
cqrs::Result<AdContent> ParseContent(std::string_view payload);
// The retailer and the ad as JSON text, without validating the ad again (it was validated when
// the event was written): what the read model stores.
struct RawContent {
  std::string retailer;
  std::string ad_json;
};
cqrs::Result<RawContent> ParseRawContent(std::string_view payload);

std::string VerdictPayload(const std::vector<Finding>& reasons);
// The reasons array as JSON text, for the read model.
cqrs::Result<std::string> ReasonsJson(std::string_view verdict_payload);

std::string WithdrawnPayload(const std::string& retailer);

// A deterministic id for the event that answers `source` (e.g. the verdict on a submission): a
// redelivered source event produces the same id, so the store recognizes the retry.
cqrs::Uuid DerivedId(const cqrs::Uuid& source, std::string_view purpose);

}  // namespace adsd::ads::events
