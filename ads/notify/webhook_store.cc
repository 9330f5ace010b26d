#include "ads/notify/webhook_store.h"

#include <sstream>

namespace adsd::ads::notify {

bool WebhookEndpoint::Wants(std::string_view type) const {
  for (const auto& e : events) {
    if (e == type) return true;
  }
  return false;
}

std::string_view DeliveryFilterSql(DeliveryFilter f) {
  switch (f) {
    case DeliveryFilter::kPending:
      return " AND state = 'pending'";
    case DeliveryFilter::kFailed:
      return " AND state = 'pending' AND attempts > 0";
    case DeliveryFilter::kParked:
      return " AND state = 'parked'";
    case DeliveryFilter::kDelivered:
      return " AND state = 'delivered'";
    case DeliveryFilter::kAll:
      break;
  }
  return "";
}

std::string_view DeliveryStateName(DeliveryState s) {
  switch (s) {
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kParked:
      return "parked";
    case DeliveryState::kPending:
      break;
  }
  return "pending";
}

DeliveryState DeliveryStateOf(std::string_view name) {
  if (name == "delivered") return DeliveryState::kDelivered;
  if (name == "parked") return DeliveryState::kParked;
  return DeliveryState::kPending;
}

std::string JoinEventTypes(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += (out.empty() ? "" : ",") + e;
  return out;
}

std::vector<std::string> SplitEventTypes(std::string_view text) {
  std::vector<std::string> out;
  std::stringstream in{std::string(text)};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace adsd::ads::notify
