// Notifications: what tells retailers of their ads' status changes without polling: webhooks
// (ads/notify/webhooks.h, routes in webhook_routes.cc) and the live stream (status_stream.h,
// GET /v1/ads/stream). AdService opens it in one step (OpenNotifications) and stops it first.
//
// Shapes: on the embedded log (the default), both, in the one process (webhooks.db in the data
// directory). With a PostgreSQL store the live stream is served by read processes (write and
// worker processes answer 501); the webhook routes by write and read processes (worker processes
// answer 501), on tables in the event store's database (pg_webhook_store.h); and webhooks are
// delivered by the worker processes (--role worker or all), one at a time: the one holding the
// delivery lock, the others standing by to take over (pg_webhook_deliverer.h).
//
// Lifecycle: Open() starts the webhook fan-out and lanes (or the deliverer) and the stream hub and
// adds the routes; Stop() closes the streams and stops the webhooks. Thread-safety: as its parts.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "ads/notify/pg_webhook_deliverer.h"
#include "ads/notify/pg_webhook_store.h"
#include "ads/notify/sqlite_webhook_store.h"
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
  // The distributed shape's webhook deliverer (worker processes); null elsewhere.
  const ads::notify::PgWebhookDeliverer* deliverer() const { return deliverer_.get(); }

 private:
  Notifications(const ServiceOptions& options, Deps deps) : options_(options), deps_(deps) {}
  ads::notify::WebhookOptions WebhookOptionsOf();
  cqrs::Status OpenWebhooks();        // the embedded shape
  cqrs::Status OpenSharedWebhooks();  // the distributed shape
  // Where the fan-out is (every change at or below has its deliveries), on a delivering process.
  std::optional<cqrs::Position> FanOutPosition() const;
  void AddMetrics();
  void AddStreamRoute();
  void AddUnsupportedWebhookRoutes();

  const ServiceOptions& options_;
  Deps deps_;
  std::unique_ptr<ads::notify::StatusChanges> changes_;
  std::unique_ptr<ads::notify::WebhookStore> webhook_store_;
  std::unique_ptr<ads::notify::WebhookService> webhooks_;
  std::unique_ptr<ads::notify::PgWebhookDeliverer> deliverer_;  // worker processes, distributed shape
  std::unique_ptr<WebhookApi> webhook_api_;
  std::shared_ptr<StatusStreamHub> streams_;
  // Attempts by outcome, for the metrics (written from the lanes).
  std::atomic<std::uint64_t> delivered_{0}, failed_{0}, parked_{0};
};

}  // namespace adsd::app
