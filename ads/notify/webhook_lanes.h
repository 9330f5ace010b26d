// WebhookLanes: the senders, one thread per endpoint. A lane sends its endpoint's due deliveries
// (WebhookStore::NextDue: the oldest first, each ad's in order), signed, and records each
// outcome; a failed attempt is retried with exponential backoff and jitter under the same
// webhook-id, and parked after `max_attempts`. A slow or dead endpoint holds only its own lane.
//
// A lane sleeps until its next delivery falls due, it is woken (Wake: the fan-out added
// deliveries, a retry was asked), or `lane_poll` passes. It keeps its connection alive between
// deliveries and checks the address policy at every new connection.
//
// Lifecycle: lanes start with Start() or Sync(); a lane of a removed endpoint is retired (signalled
// at once, joined at Stop: an attempt in flight may take a timeout to end). Stop() signals and joins
// every lane. Thread-safety: every method is safe from any thread. `store` must outlive the lanes.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ads/notify/webhook_options.h"
#include "ads/notify/webhook_store.h"
#include "cqrs/core/mutex.h"

namespace adsd::ads::notify {

class WebhookLanes {
 public:
  WebhookLanes(WebhookStore& store, const WebhookOptions& options);
  ~WebhookLanes();
  WebhookLanes(const WebhookLanes&) = delete;
  WebhookLanes& operator=(const WebhookLanes&) = delete;

  void Start(const std::string& endpoint_id) EXCLUDES(mu_);
  void Retire(const std::string& endpoint_id) EXCLUDES(mu_);
  // A lane for each of `endpoints`, and none for any other.
  void Sync(const std::vector<WebhookEndpoint>& endpoints) EXCLUDES(mu_);
  // False when the endpoint has no lane here.
  bool Wake(const std::string& endpoint_id) EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);

 private:
  struct Lane;
  void Run(Lane& lane);
  // False when its outcome could not be recorded (the lane pauses: it would only repeat it).
  bool Attempt(const WebhookEndpoint& endpoint, const WebhookDelivery& d, Lane& lane);
  std::chrono::milliseconds Backoff(int failed_attempts);
  void RetireLocked(std::map<std::string, std::unique_ptr<Lane>>::iterator it) REQUIRES(mu_);

  WebhookStore& store_;
  const WebhookOptions& options_;  // the owner's, which outlives the lanes

  cqrs::Mutex mu_;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::map<std::string, std::unique_ptr<Lane>> lanes_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Lane>> retired_ GUARDED_BY(mu_);  // signalled, joined at Stop
};

}  // namespace adsd::ads::notify
