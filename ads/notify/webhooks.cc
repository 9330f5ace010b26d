#include "ads/notify/webhooks.h"

#include "ads/events.h"
#include "ads/notify/webhook_fanout.h"
#include "ads/notify/webhook_signature.h"
#include "cqrs/core/types.h"

namespace adsd::ads::notify {

using cqrs::NowUs;

WebhookService::WebhookService(cqrs::EventStore& store, StatusChanges* changes, WebhookStore& webhooks,
                               WebhookOptions options)
    : store_(store), changes_(changes), webhooks_(webhooks), options_(std::move(options)) {}

cqrs::Result<std::unique_ptr<WebhookService>> WebhookService::Start(cqrs::EventStore& store,
                                                                    cqrs::log::ConsumerOffsets& offsets,
                                                                    StatusChanges& changes, WebhookStore& webhooks,
                                                                    WebhookOptions options) {
  std::unique_ptr<WebhookService> s(new WebhookService(store, &changes, webhooks, std::move(options)));
  s->lanes_ = std::make_unique<WebhookLanes>(webhooks, s->options_);
  ASSIGN_OR_RETURN(auto endpoints, webhooks.Endpoints());
  s->lanes_->Sync(endpoints);
  cqrs::consumer::StoreConsumerOptions co;
  co.group = std::string(kGroup);
  co.dispatch.lanes = 1;  // the fan-out is a few inserts per change: one lane keeps the log's order
  auto consumer = cqrs::consumer::StoreConsumer::Start(
      store, offsets, cqrs::consumer::Synchronous([p = s.get()](const cqrs::RecordedEvent& e) { return p->FanOut(e); }),
      std::move(co));
  if (!consumer.ok()) {
    s->Stop();
    return consumer.status();
  }
  s->consumer_ = std::move(*consumer);
  return s;
}

std::unique_ptr<WebhookService> WebhookService::Registry(cqrs::EventStore& store, WebhookStore& webhooks,
                                                         WebhookOptions options) {
  return std::unique_ptr<WebhookService>(new WebhookService(store, nullptr, webhooks, std::move(options)));
}

WebhookService::~WebhookService() { Stop(); }

void WebhookService::Stop() {
  if (consumer_) consumer_->Stop();
  if (lanes_) lanes_->Stop();
}

cqrs::Position WebhookService::position() const { return consumer_ ? consumer_->position() : cqrs::Position(); }

cqrs::Status WebhookService::status() const {
  return consumer_ ? consumer_->status() : cqrs::Unavailable("the webhook fan-out is not running");
}

cqrs::Status WebhookService::FanOut(const cqrs::RecordedEvent& e) {
  if (!e.stream.starts_with(events::kStreamPrefix)) return cqrs::Status::Ok();
  {
    // Looked at under the lock: a registration in progress (its head read, its endpoint not yet
    // added) may be for `e`; one that starts after this look reads a head at or above `e`.
    cqrs::MutexLock registering(registration_mu_);
    auto any = webhooks_.Endpoints();
    if (!any.ok() || any->empty()) return any.status();
  }
  ASSIGN_OR_RETURN(auto change, changes_->Decode(e));
  if (!change) return cqrs::Status::Ok();
  cqrs::MutexLock registering(registration_mu_);
  auto endpoints = webhooks_.Endpoints();
  if (!endpoints.ok()) return cqrs::Unavailable("webhook endpoints not read: " + endpoints.status().message());
  std::vector<WebhookDelivery> ds = DeliveriesOf(e, *change, *endpoints, NowUs());
  if (ds.empty()) return cqrs::Status::Ok();
  if (cqrs::Status st = webhooks_.AddDeliveries(ds); !st.ok()) {
    // A busy or failing database is worth retrying: the consumer redoes this event.
    return cqrs::Unavailable("webhook deliveries not stored: " + st.message());
  }
  for (const auto& d : ds) lanes_->Wake(d.endpoint_id);
  return cqrs::Status::Ok();
}

cqrs::Result<WebhookEndpoint> WebhookService::Register(const std::string& retailer, const std::string& url,
                                                       const std::vector<std::string>& events) {
  if (events.empty()) return cqrs::InvalidArgument("events: name at least one status change type");
  for (const auto& t : events) {
    if (!IsChangeType(t)) return cqrs::InvalidArgument("events: unknown type '" + t + "'");
  }
  ASSIGN_OR_RETURN(auto parsed, http::ParseOutboundUrl(url, options_.outbound.private_addresses));
  RETURN_IF_ERROR(http::CheckOutboundHost(parsed, options_.outbound.private_addresses));
  WebhookEndpoint e;
  e.id = "ep_" + cqrs::Uuid::V7().ToString();
  e.retailer = retailer;
  e.url = url;
  e.events = events;
  ASSIGN_OR_RETURN(e.secret, NewWebhookSecret());
  e.created_us = NowUs();
  {
    // Changes after this point are delivered: the fan-out may still be behind the head, and
    // whatever it has not reached yet that is older than the registration is not for this
    // endpoint. The embedded fan-out waits meanwhile, so no change falls between the two (the
    // PostgreSQL store serializes with its fan-out itself).
    cqrs::MutexLock registering(registration_mu_);
    RETURN_IF_ERROR(webhooks_.AddEndpoint(e, options_.max_endpoints_per_retailer, [this] { return store_.Head(); }));
  }
  if (lanes_) lanes_->Start(e.id);
  return e;
}

cqrs::Status WebhookService::Remove(const std::string& id, const std::string& retailer) {
  RETURN_IF_ERROR(webhooks_.RemoveEndpoint(id, retailer));
  if (lanes_) lanes_->Retire(id);
  return cqrs::Status::Ok();
}

cqrs::Result<std::vector<WebhookEndpoint>> WebhookService::List(const std::string& retailer) const {
  ASSIGN_OR_RETURN(auto all, webhooks_.Endpoints());
  std::vector<WebhookEndpoint> out;
  for (auto& e : all) {
    if (retailer.empty() || e.retailer == retailer) out.push_back(std::move(e));
  }
  return out;
}

cqrs::Status WebhookService::CheckOwner(const std::string& id, const std::string& retailer) const {
  ASSIGN_OR_RETURN(auto e, webhooks_.Endpoint(id));
  if (!e || (!retailer.empty() && e->retailer != retailer)) return cqrs::NotFound("no webhook " + id);
  return cqrs::Status::Ok();
}

cqrs::Result<std::vector<WebhookDelivery>> WebhookService::Deliveries(const std::string& id,
                                                                      const std::string& retailer,
                                                                      DeliveryFilter filter, std::size_t limit) const {
  RETURN_IF_ERROR(CheckOwner(id, retailer));
  return webhooks_.List(id, filter, limit);
}

cqrs::Status WebhookService::Retry(const std::string& id, const std::string& retailer, const std::string& delivery_id) {
  RETURN_IF_ERROR(CheckOwner(id, retailer));
  RETURN_IF_ERROR(webhooks_.Retry(id, delivery_id, NowUs()));
  if (lanes_) lanes_->Wake(id);
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads::notify
