// Webhooks: every status change of a retailer's ads POSTed to the endpoints it registered,
// signed per Standard Webhooks (webhook_signature.h), at least once and in order per ad.
//
//   event log ──StoreConsumer "webhooks"──> fan-out ──> WebhookStore (deliveries, pending)
//                                                           │
//                      one lane per endpoint <──────────────┘ ──POST──> the retailer's URL
//
// No dual write: the fan-out is a checkpointed consumer of the log. It turns each status change
// into one delivery per matching endpoint (an id derived from the event and the endpoint: a
// redelivered event inserts nothing new) and settles once they are committed; its offset moves
// only past settled events. A lane per endpoint sends that endpoint's deliveries, the oldest
// first, with each ad's changes strictly in order; a failed attempt is retried with exponential
// backoff and jitter under the same webhook-id, and parked after `max_attempts`. A slow or dead
// endpoint holds only its own lane: other endpoints (and retailers) never wait for it.
//
// Lifecycle: Start() opens nothing itself (the store and offsets are the caller's) and starts the
// consumer and a lane per endpoint; Stop() stops the consumer, then the lanes (an attempt in
// flight finishes or times out first). Thread-safety: every method is safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ads/notify/status_change.h"
#include "ads/notify/webhook_store.h"
#include "cqrs/consumer/store_consumer.h"
#include "cqrs/core/mutex.h"
#include "cqrs/log/consumer_offsets.h"
#include "http/outbound.h"

namespace adsd::ads::notify {

struct WebhookOptions {
  http::OutboundOptions outbound;           // timeouts and the address policy
  int max_attempts = 8;                     // then parked
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(10)};
  std::size_t max_endpoints_per_retailer = 10;
  // Delivered deliveries are kept this long (listed with ?status=delivered), then forgotten.
  std::chrono::hours keep_delivered{24 * 7};
  // Called after each attempt, from a lane: the outcome ("delivered", "failed", "parked") and,
  // when delivered, the seconds from the change to its delivery.
  std::function<void(std::string_view outcome, double lag_seconds)> on_attempt;
};

class WebhookService {
 public:
  static constexpr std::string_view kGroup = "webhooks";

  // `store`, `offsets`, `changes` and `webhooks` must outlive the service.
  static cqrs::Result<std::unique_ptr<WebhookService>> Start(cqrs::EventStore& store,
                                                             cqrs::log::ConsumerOffsets& offsets,
                                                             StatusChanges& changes, WebhookStore& webhooks,
                                                             WebhookOptions options);
  ~WebhookService();
  void Stop() EXCLUDES(mu_);

  // Registers an endpoint for `retailer`: checks the URL (address policy), the event types and the
  // retailer's limit. The endpoint returned holds the secret (shown once).
  cqrs::Result<WebhookEndpoint> Register(const std::string& retailer, const std::string& url,
                                         const std::vector<std::string>& events) EXCLUDES(mu_, registration_mu_);
  // `retailer` empty: an admin (any endpoint).
  cqrs::Status Remove(const std::string& id, const std::string& retailer) EXCLUDES(mu_);
  std::vector<WebhookEndpoint> List(const std::string& retailer) const;
  cqrs::Result<std::vector<WebhookDelivery>> Deliveries(const std::string& id, const std::string& retailer,
                                                        DeliveryFilter filter, std::size_t limit) const;
  cqrs::Status Retry(const std::string& id, const std::string& retailer, const std::string& delivery_id) EXCLUDES(mu_);

  // The fan-out consumer's position (every change at or below it has its deliveries) and status.
  cqrs::Position position() const;
  cqrs::Status status() const;
  WebhookStore& store() { return webhooks_; }

 private:
  struct Lane;
  WebhookService(cqrs::EventStore& store, StatusChanges& changes, WebhookStore& webhooks, WebhookOptions options);
  cqrs::Status FanOut(const cqrs::RecordedEvent& e) EXCLUDES(registration_mu_);
  void StartLane(const std::string& endpoint_id) EXCLUDES(mu_);
  void Wake(const std::string& endpoint_id) EXCLUDES(mu_);
  void RunLane(Lane& lane);
  // False when its outcome could not be recorded (the lane pauses: it would only repeat it).
  bool Attempt(const WebhookEndpoint& endpoint, const WebhookDelivery& d, http::OutboundConnection& connection);
  std::chrono::milliseconds Backoff(int failed_attempts);

  cqrs::EventStore& store_;
  StatusChanges& changes_;
  WebhookStore& webhooks_;
  const WebhookOptions options_;
  std::unique_ptr<cqrs::consumer::StoreConsumer> consumer_;  // set by Start, reset by Stop

  // Held by the fan-out for each event and by Register() from reading the head to adding the
  // endpoint: a change either was fanned out before (its position is at or below the endpoint's
  // `after`) or sees the endpoint. Never taken with mu_ held.
  cqrs::Mutex registration_mu_;

  mutable cqrs::Mutex mu_;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::map<std::string, std::unique_ptr<Lane>> lanes_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Lane>> retired_ GUARDED_BY(mu_);  // lanes of removed endpoints, joined at Stop
};

}  // namespace adsd::ads::notify
