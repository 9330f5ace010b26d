// Webhooks: every status change of a retailer's ads POSTed to the endpoints it registered,
// signed per Standard Webhooks (webhook_signature.h), at least once and in order per ad.
//
//   event log ──fan-out (checkpointed consumer)──> WebhookStore (deliveries, pending)
//                                                           │
//                      one lane per endpoint <──────────────┘ ──POST──> the retailer's URL
//
// No dual write: the fan-out is a checkpointed consumer of the log. It turns each status change
// into one delivery per matching endpoint (webhook_fanout.h: an id derived from the event and the
// endpoint, so a redelivered event inserts nothing new) and settles once they are committed; its
// position moves only past settled events. The lanes (webhook_lanes.h) send them.
//
// WebhookService is what the routes use (register, remove, list, retry) and, in the embedded
// shape (Start), also runs the fan-out (a StoreConsumer of the log, group `webhooks`) and the
// lanes. In the distributed shape (Registry) it only serves the routes, on the PostgreSQL store:
// delivery is the leading worker's (pg_webhook_deliverer.h).
//
// Lifecycle: Start() opens nothing itself (the store and offsets are the caller's) and starts the
// consumer and a lane per endpoint; Stop() stops the consumer, then the lanes (an attempt in
// flight finishes or times out first). Thread-safety: every method is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ads/notify/status_change.h"
#include "ads/notify/webhook_lanes.h"
#include "ads/notify/webhook_options.h"
#include "ads/notify/webhook_store.h"
#include "cqrs/consumer/store_consumer.h"
#include "cqrs/core/mutex.h"
#include "cqrs/log/consumer_offsets.h"

namespace adsd::ads::notify {

class WebhookService {
 public:
  static constexpr std::string_view kGroup = "webhooks";

  // The embedded shape: the routes' side, the fan-out and the lanes, in this process.
  // `store`, `offsets`, `changes` and `webhooks` must outlive the service.
  static cqrs::Result<std::unique_ptr<WebhookService>> Start(cqrs::EventStore& store,
                                                             cqrs::log::ConsumerOffsets& offsets,
                                                             StatusChanges& changes, WebhookStore& webhooks,
                                                             WebhookOptions options);
  // The distributed shape: the routes' side only (the store reads the head itself: see
  // WebhookStore::AddEndpoint). `store` and `webhooks` must outlive the service.
  static std::unique_ptr<WebhookService> Registry(cqrs::EventStore& store, WebhookStore& webhooks,
                                                  WebhookOptions options);
  ~WebhookService();
  void Stop();

  // Registers an endpoint for `retailer`: checks the URL (address policy), the event types and the
  // retailer's limit. The endpoint returned holds the secret (shown once).
  cqrs::Result<WebhookEndpoint> Register(const std::string& retailer, const std::string& url,
                                         const std::vector<std::string>& events) EXCLUDES(registration_mu_);
  // `retailer` empty: an admin (any endpoint).
  cqrs::Status Remove(const std::string& id, const std::string& retailer);
  cqrs::Result<std::vector<WebhookEndpoint>> List(const std::string& retailer) const;
  cqrs::Result<std::vector<WebhookDelivery>> Deliveries(const std::string& id, const std::string& retailer,
                                                        DeliveryFilter filter, std::size_t limit) const;
  cqrs::Status Retry(const std::string& id, const std::string& retailer, const std::string& delivery_id);

  // The embedded fan-out consumer's position (every change at or below it has its deliveries)
  // and status.
  cqrs::Position position() const;
  cqrs::Status status() const;
  WebhookStore& store() { return webhooks_; }

 private:
  WebhookService(cqrs::EventStore& store, StatusChanges* changes, WebhookStore& webhooks, WebhookOptions options);
  cqrs::Status FanOut(const cqrs::RecordedEvent& e) EXCLUDES(registration_mu_);
  // Whether `retailer` owns endpoint `id` (any retailer when empty); NotFound if not.
  cqrs::Status CheckOwner(const std::string& id, const std::string& retailer) const;

  cqrs::EventStore& store_;
  StatusChanges* changes_;  // the embedded fan-out's; null in a registry
  WebhookStore& webhooks_;
  const WebhookOptions options_;
  std::unique_ptr<WebhookLanes> lanes_;                      // the embedded shape's
  std::unique_ptr<cqrs::consumer::StoreConsumer> consumer_;  // set by Start, reset by Stop

  // Held by the embedded fan-out for each event and by Register() from reading the head to
  // adding the endpoint: a change either was fanned out before (its position is at or below the
  // endpoint's `after`) or sees the endpoint.
  cqrs::Mutex registration_mu_;
};

}  // namespace adsd::ads::notify
