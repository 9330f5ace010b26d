#include "ads/notify/webhooks.h"

#include <random>

#include "ads/events.h"
#include "ads/notify/webhook_signature.h"
#include "cqrs/core/thread_name.h"

namespace adsd::ads::notify {

namespace {

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// One endpoint's sender: a thread that sleeps until a delivery falls due or the fan-out wakes it.
struct WebhookService::Lane {
  std::string endpoint_id;
  cqrs::Mutex mu;
  cqrs::CondVar cv;
  bool wake GUARDED_BY(mu) = false;
  bool stop GUARDED_BY(mu) = false;
  std::thread thread;
  http::OutboundConnection connection;  // the lane thread's: kept alive between deliveries

  void Stop() {
    {
      cqrs::MutexLock lock(mu);
      stop = true;
    }
    cv.SignalAll();
  }
  void Join() {
    if (thread.joinable()) thread.join();
  }
};

WebhookService::WebhookService(cqrs::EventStore& store, StatusChanges& changes, WebhookStore& webhooks,
                               WebhookOptions options)
    : store_(store), changes_(changes), webhooks_(webhooks), options_(std::move(options)) {}

cqrs::Result<std::unique_ptr<WebhookService>> WebhookService::Start(cqrs::EventStore& store,
                                                                    cqrs::log::ConsumerOffsets& offsets,
                                                                    StatusChanges& changes, WebhookStore& webhooks,
                                                                    WebhookOptions options) {
  std::unique_ptr<WebhookService> s(new WebhookService(store, changes, webhooks, std::move(options)));
  for (const auto& e : webhooks.Endpoints()) s->StartLane(e.id);
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

WebhookService::~WebhookService() { Stop(); }

void WebhookService::Stop() {
  if (consumer_) consumer_->Stop();
  std::vector<std::unique_ptr<Lane>> lanes;
  {
    cqrs::MutexLock lock(mu_);
    stopped_ = true;
    for (auto& [id, lane] : lanes_) lanes.push_back(std::move(lane));
    lanes_.clear();
    for (auto& lane : retired_) lanes.push_back(std::move(lane));
    retired_.clear();
  }
  for (auto& lane : lanes) lane->Stop();
  for (auto& lane : lanes) lane->Join();
}

cqrs::Position WebhookService::position() const { return consumer_ ? consumer_->position() : cqrs::Position(); }

cqrs::Status WebhookService::status() const {
  return consumer_ ? consumer_->status() : cqrs::Unavailable("the webhook fan-out is not running");
}

cqrs::Status WebhookService::FanOut(const cqrs::RecordedEvent& e) {
  if (!e.stream.starts_with(events::kStreamPrefix) || !webhooks_.HasEndpoints()) return cqrs::Status::Ok();
  ASSIGN_OR_RETURN(auto change, changes_.Decode(e));
  if (!change) return cqrs::Status::Ok();
  std::vector<WebhookDelivery> ds;
  std::string body;
  cqrs::MutexLock registering(registration_mu_);
  for (const auto& endpoint : webhooks_.Endpoints()) {
    if (endpoint.retailer != change->retailer || !endpoint.Wants(change->type) || e.position <= endpoint.after) {
      continue;
    }
    if (body.empty()) body = change->ToJson();
    WebhookDelivery d;
    d.id = "msg_" + events::DerivedId(e.event_id, "webhook:" + endpoint.id).ToString();
    d.endpoint_id = endpoint.id;
    d.ad_id = change->ad_id;
    d.position = e.position;
    d.type = change->type;
    d.body = body;
    d.occurred_at_us = change->occurred_at_us;
    d.created_us = NowUs();
    ds.push_back(std::move(d));
  }
  if (ds.empty()) return cqrs::Status::Ok();
  if (cqrs::Status st = webhooks_.AddDeliveries(ds); !st.ok()) {
    // A busy or failing database is worth retrying: the consumer redoes this event.
    return cqrs::Unavailable("webhook deliveries not stored: " + st.message());
  }
  for (const auto& d : ds) Wake(d.endpoint_id);
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
  std::size_t mine = 0;
  for (const auto& e : webhooks_.Endpoints()) mine += e.retailer == retailer ? 1 : 0;
  if (mine >= options_.max_endpoints_per_retailer) {
    return cqrs::AlreadyExists("a retailer may register at most " + std::to_string(options_.max_endpoints_per_retailer) +
                               " webhooks");
  }
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
    // endpoint. The fan-out waits meanwhile, so no change falls between the two.
    cqrs::MutexLock registering(registration_mu_);
    e.after = store_.Head();
    RETURN_IF_ERROR(webhooks_.AddEndpoint(e));
  }
  StartLane(e.id);
  return e;
}

cqrs::Status WebhookService::Remove(const std::string& id, const std::string& retailer) {
  RETURN_IF_ERROR(webhooks_.RemoveEndpoint(id, retailer));
  cqrs::MutexLock lock(mu_);
  if (auto it = lanes_.find(id); it != lanes_.end()) {
    // Not joined here (an attempt in flight may take a timeout to end): at Stop.
    it->second->Stop();
    retired_.push_back(std::move(it->second));
    lanes_.erase(it);
  }
  return cqrs::Status::Ok();
}

std::vector<WebhookEndpoint> WebhookService::List(const std::string& retailer) const {
  std::vector<WebhookEndpoint> out;
  for (auto& e : webhooks_.Endpoints()) {
    if (retailer.empty() || e.retailer == retailer) out.push_back(std::move(e));
  }
  return out;
}

cqrs::Result<std::vector<WebhookDelivery>> WebhookService::Deliveries(const std::string& id, const std::string& retailer,
                                                                      DeliveryFilter filter, std::size_t limit) const {
  auto e = webhooks_.Endpoint(id);
  if (!e || (!retailer.empty() && e->retailer != retailer)) return cqrs::NotFound("no webhook " + id);
  return webhooks_.List(id, filter, limit);
}

cqrs::Status WebhookService::Retry(const std::string& id, const std::string& retailer, const std::string& delivery_id) {
  auto e = webhooks_.Endpoint(id);
  if (!e || (!retailer.empty() && e->retailer != retailer)) return cqrs::NotFound("no webhook " + id);
  RETURN_IF_ERROR(webhooks_.Retry(id, delivery_id, NowUs()));
  Wake(id);
  return cqrs::Status::Ok();
}

void WebhookService::StartLane(const std::string& endpoint_id) {
  cqrs::MutexLock lock(mu_);
  if (stopped_ || lanes_.contains(endpoint_id)) return;
  auto lane = std::make_unique<Lane>();
  lane->endpoint_id = endpoint_id;
  Lane* raw = lane.get();
  lane->thread = std::thread([this, raw] {
    cqrs::NameThisThread("webhook-lane");
    RunLane(*raw);
  });
  lanes_[endpoint_id] = std::move(lane);
}

void WebhookService::Wake(const std::string& endpoint_id) {
  cqrs::MutexLock lock(mu_);
  auto it = lanes_.find(endpoint_id);
  if (it == lanes_.end()) return;
  Lane& lane = *it->second;
  {
    cqrs::MutexLock lane_lock(lane.mu);
    lane.wake = true;
  }
  lane.cv.SignalAll();
}

void WebhookService::RunLane(Lane& lane) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_prune = Clock::now();
  while (true) {
    if (Clock::now() >= next_prune) {
      const auto keep = std::chrono::duration_cast<std::chrono::microseconds>(options_.keep_delivered).count();
      (void)webhooks_.PruneDelivered(lane.endpoint_id, NowUs() - keep);  // failing: next time
      next_prune = Clock::now() + std::chrono::minutes(10);
    }
    {
      cqrs::MutexLock lock(lane.mu);
      if (lane.stop) return;
      lane.wake = false;
    }
    auto next = webhooks_.NextDue(lane.endpoint_id, NowUs());
    auto endpoint = webhooks_.Endpoint(lane.endpoint_id);
    if (!endpoint) return;  // removed
    Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
    if (!next.ok()) {
      deadline = Clock::now() + std::chrono::seconds(1);  // the database is busy: look again soon
    } else if (next->due) {
      if (Attempt(*endpoint, *next->due, lane.connection)) continue;
      deadline = Clock::now() + std::chrono::seconds(1);  // the outcome was not recorded: pause
    } else if (next->earliest_us) {
      deadline = std::min(deadline, Clock::now() + std::chrono::microseconds(std::max<std::int64_t>(
                                                       0, *next->earliest_us - NowUs())));
    }
    cqrs::MutexLock lock(lane.mu);
    while (!lane.wake && !lane.stop) {
      if (!lane.cv.WaitUntil(lane.mu, deadline)) break;
    }
  }
}

std::chrono::milliseconds WebhookService::Backoff(int failed_attempts) {
  // Exponential, capped, with jitter: a random pause in [d/2, d], so that the retries of many
  // deliveries that failed together (an endpoint that came back) do not arrive together.
  std::chrono::milliseconds d = options_.backoff_first;
  for (int i = 1; i < failed_attempts && d < options_.backoff_max; ++i) d *= 2;
  d = std::min(d, options_.backoff_max);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> jitter(d.count() / 2, std::max<std::int64_t>(d.count(), 1));
  return std::chrono::milliseconds(jitter(rng));
}

bool WebhookService::Attempt(const WebhookEndpoint& endpoint, const WebhookDelivery& d,
                             http::OutboundConnection& connection) {
  const std::int64_t now_us = NowUs();
  const std::string timestamp = std::to_string(now_us / 1'000'000);
  std::optional<int> status;
  std::string error;
  auto url = http::ParseOutboundUrl(endpoint.url, options_.outbound.private_addresses);
  auto signature = SignWebhook(endpoint.secret, d.id, timestamp, d.body);
  if (!url.ok()) {
    error = url.status().message();
  } else if (!signature.ok()) {
    error = signature.status().message();
  } else {
    auto answer = connection.Post(*url, d.body,
                                     {{"webhook-id", d.id}, {"webhook-timestamp", timestamp},
                                      {"webhook-signature", *signature}},
                                     options_.outbound);
    if (!answer.ok()) {
      error = answer.status().ToString();
    } else if (answer->status >= 200 && answer->status < 300) {
      if (!webhooks_.MarkDelivered(d.id, answer->status, NowUs()).ok()) return false;  // sent again later
      if (options_.on_attempt) options_.on_attempt("delivered", static_cast<double>(NowUs() - d.occurred_at_us) / 1e6);
      return true;
    } else {
      status = answer->status;
      error = "HTTP " + std::to_string(answer->status);
    }
  }
  const int failed = d.attempts + 1;
  std::optional<std::int64_t> next;
  if (failed < options_.max_attempts) {
    next = NowUs() + std::chrono::duration_cast<std::chrono::microseconds>(Backoff(failed)).count();
  }
  if (!webhooks_.MarkFailed(d.id, status, error, next).ok()) return false;
  if (options_.on_attempt) options_.on_attempt(next ? "failed" : "parked", 0);
  return true;
}

}  // namespace adsd::ads::notify
