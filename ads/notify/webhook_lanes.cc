#include "ads/notify/webhook_lanes.h"

#include <random>
#include <set>
#include <thread>

#include "ads/notify/webhook_signature.h"
#include "cqrs/core/thread_name.h"
#include "cqrs/core/types.h"
#include "http/outbound.h"

namespace adsd::ads::notify {

using cqrs::NowUs;

// One endpoint's sender: a thread that sleeps until a delivery falls due or it is woken.
struct WebhookLanes::Lane {
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

WebhookLanes::WebhookLanes(WebhookStore& store, const WebhookOptions& options) : store_(store), options_(options) {}

WebhookLanes::~WebhookLanes() { Stop(); }

void WebhookLanes::Start(const std::string& endpoint_id) {
  cqrs::MutexLock lock(mu_);
  if (stopped_ || lanes_.contains(endpoint_id)) return;
  auto lane = std::make_unique<Lane>();
  lane->endpoint_id = endpoint_id;
  Lane* raw = lane.get();
  lane->thread = std::thread([this, raw] {
    cqrs::NameThisThread("webhook-lane");
    Run(*raw);
  });
  lanes_[endpoint_id] = std::move(lane);
}

void WebhookLanes::RetireLocked(std::map<std::string, std::unique_ptr<Lane>>::iterator it) {
  // Not joined here (an attempt in flight may take a timeout to end): at Stop.
  it->second->Stop();
  retired_.push_back(std::move(it->second));
  lanes_.erase(it);
}

void WebhookLanes::Retire(const std::string& endpoint_id) {
  cqrs::MutexLock lock(mu_);
  if (auto it = lanes_.find(endpoint_id); it != lanes_.end()) RetireLocked(it);
}

void WebhookLanes::Sync(const std::vector<WebhookEndpoint>& endpoints) {
  std::set<std::string> wanted;
  for (const auto& e : endpoints) wanted.insert(e.id);
  {
    cqrs::MutexLock lock(mu_);
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      auto here = it++;
      if (!wanted.contains(here->first)) RetireLocked(here);
    }
  }
  for (const auto& id : wanted) Start(id);
}

bool WebhookLanes::Wake(const std::string& endpoint_id) {
  cqrs::MutexLock lock(mu_);
  auto it = lanes_.find(endpoint_id);
  if (it == lanes_.end()) return false;
  Lane& lane = *it->second;
  {
    cqrs::MutexLock lane_lock(lane.mu);
    lane.wake = true;
  }
  lane.cv.SignalAll();
  return true;
}

void WebhookLanes::Stop() {
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

void WebhookLanes::Run(Lane& lane) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_prune = Clock::now();
  while (true) {
    if (Clock::now() >= next_prune) {
      const auto keep = std::chrono::duration_cast<std::chrono::microseconds>(options_.keep_delivered).count();
      (void)store_.PruneDelivered(lane.endpoint_id, NowUs() - keep);  // failing: next time
      next_prune = Clock::now() + std::chrono::minutes(10);
    }
    {
      cqrs::MutexLock lock(lane.mu);
      if (lane.stop) return;
      lane.wake = false;
    }
    Clock::time_point deadline = Clock::now() + options_.lane_poll;
    auto endpoint = store_.Endpoint(lane.endpoint_id);
    if (endpoint.ok() && !*endpoint) return;  // removed
    auto next = endpoint.ok() ? store_.NextDue(lane.endpoint_id, NowUs()) : endpoint.status();
    if (!next.ok()) {
      deadline = Clock::now() + std::chrono::seconds(1);  // the database is busy: look again soon
    } else if (next->due) {
      if (Attempt(**endpoint, *next->due, lane)) continue;
      deadline = Clock::now() + std::chrono::seconds(1);  // the outcome was not recorded: pause
    } else if (next->earliest_us) {
      deadline = std::min(
          deadline, Clock::now() + std::chrono::microseconds(std::max<std::int64_t>(0, *next->earliest_us - NowUs())));
    }
    cqrs::MutexLock lock(lane.mu);
    while (!lane.wake && !lane.stop) {
      if (!lane.cv.WaitUntil(lane.mu, deadline)) break;
    }
  }
}

std::chrono::milliseconds WebhookLanes::Backoff(int failed_attempts) {
  // Exponential, capped, with jitter: a random pause in [d/2, d], so that the retries of many
  // deliveries that failed together (an endpoint that came back) do not arrive together.
  std::chrono::milliseconds d = options_.backoff_first;
  for (int i = 1; i < failed_attempts && d < options_.backoff_max; ++i) d *= 2;
  d = std::min(d, options_.backoff_max);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> jitter(d.count() / 2, std::max<std::int64_t>(d.count(), 1));
  return std::chrono::milliseconds(jitter(rng));
}

bool WebhookLanes::Attempt(const WebhookEndpoint& endpoint, const WebhookDelivery& d, Lane& lane) {
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
    auto answer = lane.connection.Post(
        *url, d.body, {{"webhook-id", d.id}, {"webhook-timestamp", timestamp}, {"webhook-signature", *signature}},
        options_.outbound);
    if (!answer.ok()) {
      error = answer.status().ToString();
    } else if (answer->status >= 200 && answer->status < 300) {
      if (!store_.MarkDelivered(d.id, answer->status, NowUs()).ok()) return false;  // sent again later
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
  if (!store_.MarkFailed(d.id, status, error, next).ok()) return false;
  if (options_.on_attempt) options_.on_attempt(next ? "failed" : "parked", 0);
  return true;
}

}  // namespace adsd::ads::notify
