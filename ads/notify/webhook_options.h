// WebhookOptions: how webhooks are registered and delivered (webhooks.h, webhook_lanes.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "http/outbound.h"

namespace adsd::ads::notify {

struct WebhookOptions {
  http::OutboundOptions outbound;  // timeouts and the address policy
  int max_attempts = 8;            // then parked
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(10)};
  std::size_t max_endpoints_per_retailer = 10;
  // Delivered deliveries are kept this long (listed with ?status=delivered), then forgotten.
  std::chrono::hours keep_delivered{24 * 7};
  // The longest a lane waits without being woken before it looks for due deliveries again. In
  // the distributed shape a retry asked on another process is noticed within it.
  std::chrono::milliseconds lane_poll{std::chrono::seconds(60)};
  // Called after each attempt, from a lane: the outcome ("delivered", "failed", "parked") and,
  // when delivered, the seconds from the change to its delivery.
  std::function<void(std::string_view outcome, double lag_seconds)> on_attempt;
};

}  // namespace adsd::ads::notify
