#include "ads/notify/webhook_fanout.h"

#include "ads/events.h"

namespace adsd::ads::notify {

std::vector<WebhookDelivery> DeliveriesOf(const cqrs::RecordedEvent& e, const StatusChange& change,
                                          const std::vector<WebhookEndpoint>& endpoints, std::int64_t now_us) {
  std::vector<WebhookDelivery> ds;
  std::string body;
  for (const auto& endpoint : endpoints) {
    if (endpoint.retailer != change.retailer || !endpoint.Wants(change.type) || e.position <= endpoint.after) {
      continue;
    }
    if (body.empty()) body = change.ToJson();
    WebhookDelivery d;
    d.id = "msg_" + events::DerivedId(e.event_id, "webhook:" + endpoint.id).ToString();
    d.endpoint_id = endpoint.id;
    d.ad_id = change.ad_id;
    d.position = e.position;
    d.type = change.type;
    d.body = body;
    d.occurred_at_us = change.occurred_at_us;
    d.created_us = now_us;
    ds.push_back(std::move(d));
  }
  return ds;
}

}  // namespace adsd::ads::notify
