// Notifications: what tells retailers of their ads' status changes without polling: webhooks
// (ads/notify/webhooks.h, routes in webhook_routes.cc) and the live stream (status_stream.h,
// GET /v1/ads/stream). AdService opens it in one step (OpenNotifications) and stops it first.
//
// Shapes: on the embedded log (the default), both. With a PostgreSQL store the live stream is
// served by read processes (write and worker processes answer 501); webhooks are not supported
// yet: their routes answer 501 and --webhooks-allow-private is refused at start (docs/api.md).
//
// Lifecycle: Open() starts the webhook fan-out and lanes and the stream hub and adds the routes;
// Stop() closes the streams and stops the webhooks. Thread-safety: as its parts.
#pragma once

#include <atomic>
#include <memory>

#include "ads/notify/status_change.h"
#include "ads/notify/webhook_store.h"
#include "ads/notify/webhooks.h"
#include "app/adsd/blocking_pool.h"
#include "app/adsd/options.h"
#include "app/adsd/status_stream.h"
#include "app/adsd/webhook_api.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/store/event_store.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/router.h"

namespace adsd::app {

class Notifications {
 public:
  struct Deps {
    cqrs::EventStore& store;
    cqrs::log::ConsumerOffsets* offsets;  // the embedded log's consumer offsets; null on PostgreSQL
    http::Metrics& metrics;
    http::Router& router;
    const http::ApiKeys& keys;
    BlockingPool& pool;
  };
  // Everything in `deps` must outlive the object.
  static cqrs::Result<std::unique_ptr<Notifications>> Open(const ServiceOptions& options, Deps deps);
  ~Notifications();
  void Stop();

  const http::ApiKeys& keys() const { return deps_.keys; }

 private:
  Notifications(const ServiceOptions& options, Deps deps) : options_(options), deps_(deps) {}
  cqrs::Status OpenWebhooks();
  void AddMetrics();
  void AddStreamRoute();
  void AddUnsupportedWebhookRoutes();

  const ServiceOptions& options_;
  Deps deps_;
  std::unique_ptr<ads::notify::StatusChanges> changes_;
  std::unique_ptr<ads::notify::WebhookStore> webhook_store_;
  std::unique_ptr<ads::notify::WebhookService> webhooks_;
  std::unique_ptr<WebhookApi> webhook_api_;
  std::shared_ptr<StatusStreamHub> streams_;
  // Attempts by outcome, for the metrics (written from the lanes).
  std::atomic<std::uint64_t> delivered_{0}, failed_{0}, parked_{0};
};

}  // namespace adsd::app
