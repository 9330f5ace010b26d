#include "app/adsd/notifications.h"

#include <charconv>
#include <utility>
#include <vector>

#include "app/adsd/authorize.h"
#include "app/common/data_dir.h"
#include "http/problem.h"
#include "http/target.h"

namespace adsd::app {

cqrs::Result<std::unique_ptr<Notifications>> Notifications::Open(const ServiceOptions& options, Deps deps) {
  std::unique_ptr<Notifications> n(new Notifications(options, deps));
  n->changes_ = std::make_unique<ads::notify::StatusChanges>(deps.store);
  // Webhooks in either shape; see notifications.h.
  if (options.store_url.empty() && deps.offsets != nullptr) {
    RETURN_IF_ERROR(n->OpenWebhooks());
  } else if (IsPostgresUrl(options.store_url)) {
    RETURN_IF_ERROR(n->OpenSharedWebhooks());
  } else {
    n->AddUnsupportedWebhookRoutes();
  }
  // The live stream is served wherever reads are: the embedded shape, and read processes on
  // PostgreSQL (it follows the store's global order as their read model does).
  if (options.serves_reads()) {
    StatusStreamOptions so;
    so.heartbeat = options.notify.stream_heartbeat;
    so.per_retailer = options.notify.streams_per_retailer;
    ASSIGN_OR_RETURN(n->streams_, StatusStreamHub::Start(deps.store, *n->changes_, deps.pool, so));
    n->AddStreamRoute();
  } else {
    // Authenticated first, as every /v1 route: without a token the answer is 401, not 501.
    deps.router.Add("GET", "/v1/ads/stream",
                    [&keys = deps.keys](Request& req, Responder respond) {
                      if (!Authorize(keys, req, respond)) return;
                      respond(Problem(501, "stream-unsupported", "The live stream is not served by this process",
                                      "the live stream is served by read processes (--role read or all)"));
                    },
                    {.body_content_type = ""});
  }
  n->AddMetrics();
  return n;
}

Notifications::~Notifications() { Stop(); }

void Notifications::Stop() {
  if (streams_) streams_->Stop();
  if (webhooks_) webhooks_->Stop();
  if (deliverer_) deliverer_->Stop();
}

ads::notify::WebhookOptions Notifications::WebhookOptionsOf() {
  const NotifyOptions& no = options_.notify;
  ads::notify::WebhookOptions wo;
  wo.outbound.connect_timeout = no.webhook_connect_timeout;
  wo.outbound.response_timeout = no.webhook_response_timeout;
  wo.outbound.private_addresses =
      no.webhooks_allow_private ? http::PrivateAddresses::kAllow : http::PrivateAddresses::kRefuse;
  wo.outbound.ca_file = no.webhook_ca_file;
  wo.max_attempts = no.webhook_max_attempts;
  wo.backoff_first = no.webhook_backoff;
  wo.backoff_max = no.webhook_backoff_max;
  // Where lanes run: the embedded process, a worker on PostgreSQL.
  if (options_.store_url.empty() || options_.runs_worker()) {
    deps_.metrics.AddHistogram("adsd_webhook_delivery_lag_seconds",
                               "Time from a status change's append to the endpoint's 2xx answer.",
                               {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600});
  }
  wo.on_attempt = [this](std::string_view outcome, double lag) {
    if (outcome == "delivered") {
      ++delivered_;
      deps_.metrics.Observe("adsd_webhook_delivery_lag_seconds", std::span(&lag, 1));
    } else if (outcome == "failed") {
      ++failed_;
    } else {
      ++failed_;
      ++parked_;
    }
  };
  return wo;
}

cqrs::Status Notifications::OpenWebhooks() {
  ASSIGN_OR_RETURN(webhook_store_, ads::notify::SqliteWebhookStore::Open(options_.data_dir / "webhooks.db"));
  ASSIGN_OR_RETURN(webhooks_, ads::notify::WebhookService::Start(deps_.store, *deps_.offsets, *changes_,
                                                                 *webhook_store_, WebhookOptionsOf()));
  webhook_api_ = std::make_unique<WebhookApi>(deps_.router, deps_.keys, *webhooks_, deps_.pool);
  webhook_api_->AddRoutes();
  return cqrs::Status::Ok();
}

cqrs::Status Notifications::OpenSharedWebhooks() {
  ASSIGN_OR_RETURN(auto pg, ads::notify::PgWebhookStore::Open(options_.store_url));
  ads::notify::PgWebhookStore& shared = *pg;
  webhook_store_ = std::move(pg);
  ads::notify::WebhookOptions wo = WebhookOptionsOf();
  // Retries asked on a write or read process wake the delivering worker's lane by a NOTIFY
  // (PgWebhookStore::kChangesChannel); each lane also looks at the table this often, in case one
  // was lost with a session.
  wo.lane_poll = std::chrono::seconds(30);
  if (options_.runs_worker()) {
    ads::notify::PgDelivererOptions po;
    po.url = options_.store_url;
    ASSIGN_OR_RETURN(deliverer_, ads::notify::PgWebhookDeliverer::Start(deps_.store, *changes_, shared, wo, po));
  }
  if (!options_.serves_writes() && !options_.serves_reads()) {
    AddUnsupportedWebhookRoutes();
    return cqrs::Status::Ok();
  }
  webhooks_ = ads::notify::WebhookService::Registry(deps_.store, shared, std::move(wo));
  webhook_api_ = std::make_unique<WebhookApi>(deps_.router, deps_.keys, *webhooks_, deps_.pool);
  webhook_api_->AddRoutes();
  return cqrs::Status::Ok();
}

std::optional<cqrs::Position> Notifications::FanOutPosition() const {
  if (deliverer_) return deliverer_->position();
  if (webhooks_ && deps_.offsets != nullptr && options_.store_url.empty()) return webhooks_->position();
  return std::nullopt;
}

void Notifications::AddMetrics() {
  using Samples = std::vector<http::Metrics::Sample>;
  // On the process that delivers: the embedded one, or the workers in the distributed shape. Of
  // those, only the leader reports the deliveries and the fan-out's lag (the table and the
  // checkpoint are shared: one series, not one per worker); every worker says whether it leads.
  const bool delivers = FanOutPosition().has_value();
  auto leads = [this] { return deliverer_ == nullptr || deliverer_->leader(); };
  if (deliverer_) {
    deps_.metrics.AddGauge("adsd_webhook_leader",
                           "1 if this worker process delivers the webhooks (it holds the lock), 0 if it stands by.",
                           [this] {
                             return Samples{{{}, deliverer_->leader() ? 1.0 : 0.0}};
                           });
  }
  if (delivers) {
    deps_.metrics.AddCounter("adsd_webhook_attempts_total",
                             "Webhook delivery attempts since start, by outcome (delivered, failed, parked).", [this] {
                               return Samples{{{{"outcome", "delivered"}}, static_cast<double>(delivered_.load())},
                                              {{{"outcome", "failed"}}, static_cast<double>(failed_.load())},
                                              {{{"outcome", "parked"}}, static_cast<double>(parked_.load())}};
                             });
    deps_.metrics.AddGauge("adsd_webhook_deliveries", "Webhook deliveries not delivered yet, by state.", [this, leads] {
      if (!leads()) return Samples{};
      auto c = webhook_store_->CountStates();
      if (!c.ok()) return Samples{};
      return Samples{{{{"state", "pending"}}, static_cast<double>(c->pending)},
                     {{{"state", "failed"}}, static_cast<double>(c->failed)},
                     {{{"state", "parked"}}, static_cast<double>(c->parked)}};
    });
    deps_.metrics.AddGauge(
        "adsd_webhook_fanout_lag_events", "Log head minus the webhook fan-out's position (changes not yet queued).",
        [this, leads] {
          if (!leads()) return Samples{};
          return Samples{
              {{}, static_cast<double>(deps_.store.Head().value()) - static_cast<double>(FanOutPosition()->value())}};
        });
  }
  if (streams_) {
    deps_.metrics.AddGauge("adsd_status_streams_open", "Open live streams (GET /v1/ads/stream).", [this] {
      return Samples{{{}, static_cast<double>(streams_->open_streams())}};
    });
  }
}

void Notifications::AddUnsupportedWebhookRoutes() {
  auto unsupported = [&keys = deps_.keys](Request& req, Responder respond) {
    if (!Authorize(keys, req, respond)) return;  // as every /v1 route: 401 before 501
    respond(Problem(501, "webhooks-unsupported", "The webhook routes are not served by this process",
                    "the webhook routes are served by write and read processes (--role write, read or all); "
                    "this one (--role worker) delivers them"));
  };
  // The methods the embedded shape serves on each path, so that another method is still 405 with
  // the same Allow as there (docs/openapi.json).
  const std::pair<const char*, std::vector<const char*>> routes[] = {
      {"/v1/webhooks", {"POST", "GET"}},  // in the order webhook_routes.cc adds them (Allow)
      {"/v1/webhooks/{id}", {"DELETE"}},
      {"/v1/webhooks/{id}/deliveries", {"GET"}},
      {"/v1/webhooks/{id}/deliveries/{delivery_id}/retry", {"POST"}}};
  for (const auto& [pattern, methods] : routes) {
    for (const char* method : methods) deps_.router.Add(method, pattern, unsupported, {.body_content_type = ""});
  }
}

void Notifications::AddStreamRoute() {
  deps_.router.Add(
      "GET", "/v1/ads/stream",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        std::string retailer = who->retailer;
        if (who->admin) {
          auto r = req.Query("retailer");
          if (r && (r->empty() || r->size() > 128 || !http::IsValidUtf8(*r) || http::PrintableUtf8(*r) != *r)) {
            return respond(Problem(400, "bad-parameter", "Bad query parameter", "retailer must be 1-128 bytes of text",
                                   {{"retailer", "invalid", "retailer must be 1-128 bytes of text"}}));
          }
          retailer = r ? std::string(*r) : "";  // none: every retailer's changes
        }
        std::optional<cqrs::Position> last;
        // Last-Event-ID (sent by a reconnecting EventSource), or ?last_event_id= for clients that
        // cannot set headers.
        auto text = req.Header("Last-Event-ID");
        if (!text) text = req.Query("last_event_id");
        if (text && !text->empty()) {
          std::uint64_t v = 0;
          auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
          if (ec != std::errc() || p != text->data() + text->size()) {
            return respond(Problem(400, "bad-last-event-id", "Bad Last-Event-ID",
                                   "Last-Event-ID must be the id of an event of this stream (a log position)",
                                   {{"Last-Event-ID", "invalid", "expected a log position (integer)"}}));
          }
          last = cqrs::Position(v);
        }
        respond(streams_->Open(retailer, last));
      },
      {.body_content_type = "", .query_params = {"retailer", "last_event_id"}});
}

}  // namespace adsd::app
