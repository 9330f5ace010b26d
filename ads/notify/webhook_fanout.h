// The fan-out's one rule, shared by both shapes: the deliveries a status change makes, one per
// endpoint of its retailer that wants its type and was registered before it (position above the
// endpoint's `after`). A delivery's id is derived from the event id and the endpoint id, so a
// change fanned out twice (a consumer redoing an event after a crash) makes the same ids.
#pragma once

#include <vector>

#include "ads/notify/status_change.h"
#include "ads/notify/webhook_store.h"
#include "cqrs/store/event.h"

namespace adsd::ads::notify {

std::vector<WebhookDelivery> DeliveriesOf(const cqrs::RecordedEvent& e, const StatusChange& change,
                                          const std::vector<WebhookEndpoint>& endpoints, std::int64_t now_us);

}  // namespace adsd::ads::notify
