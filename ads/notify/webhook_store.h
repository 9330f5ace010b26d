// WebhookStore: webhook endpoints and their deliveries, in one SQLite database in the data
// directory (DATA_DIR/webhooks.db, synchronous=FULL).
//
// Endpoints are the retailers' registrations (with the secret that signs for them: the file is
// created 0600). A delivery is one status change for one endpoint; its id is derived from the
// endpoint and the event (so the fan-out may insert it twice: the second insert is ignored) and is
// the `webhook-id` of every attempt. States: pending (new, or failing and waiting for its next
// attempt), delivered, parked (given up after the last attempt; replayable).
//
// Thread-safety: every method is safe from any thread (one connection behind a mutex; each call
// is one short statement or transaction). Endpoints are also cached in memory for the fan-out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::ads::notify {

struct WebhookEndpoint {
  std::string id;
  std::string retailer;
  std::string url;
  std::vector<std::string> events;  // status change types (status_change.h)
  std::string secret;               // "whsec_…"
  cqrs::Position after;             // the log head at registration: later changes are delivered
  std::int64_t created_us = 0;

  bool Wants(std::string_view type) const;
};

enum class DeliveryState { kPending, kDelivered, kParked };
std::string_view DeliveryStateName(DeliveryState s);

struct WebhookDelivery {
  std::string id;  // the webhook-id: "msg_<uuid>"
  std::string endpoint_id;
  std::string ad_id;
  cqrs::Position position;
  std::string type;
  std::string body;  // the JSON sent
  std::int64_t occurred_at_us = 0;
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;
  std::int64_t next_attempt_us = 0;
  std::string last_error;            // empty: none
  std::optional<int> last_status;    // the last answer's HTTP status
  std::int64_t created_us = 0;
  std::optional<std::int64_t> delivered_us;
};

// What a listing shows: failed = pending after at least one failed attempt.
enum class DeliveryFilter { kAll, kPending, kFailed, kParked, kDelivered };

class WebhookStore {
 public:
  static cqrs::Result<std::unique_ptr<WebhookStore>> Open(const std::filesystem::path& file);

  cqrs::Status AddEndpoint(const WebhookEndpoint& e) EXCLUDES(mu_);
  // Removes the endpoint and its deliveries; NotFound when `retailer` (empty: any) has no such one.
  cqrs::Status RemoveEndpoint(const std::string& id, const std::string& retailer) EXCLUDES(mu_);
  std::vector<WebhookEndpoint> Endpoints() const EXCLUDES(mu_);
  bool HasEndpoints() const EXCLUDES(mu_);
  std::optional<WebhookEndpoint> Endpoint(const std::string& id) const EXCLUDES(mu_);

  // Inserts deliveries not already there, in one transaction.
  cqrs::Status AddDeliveries(const std::vector<WebhookDelivery>& ds) EXCLUDES(mu_);

  struct Next {
    std::optional<WebhookDelivery> due;      // the next delivery to attempt now
    std::optional<std::int64_t> earliest_us;  // else when the next pending one falls due
  };
  // The oldest pending delivery of the endpoint that is due and whose ad has no older pending
  // delivery on this endpoint (each ad's changes arrive in order).
  cqrs::Result<Next> NextDue(const std::string& endpoint_id, std::int64_t now_us) EXCLUDES(mu_);
  cqrs::Status MarkDelivered(const std::string& id, int status, std::int64_t now_us) EXCLUDES(mu_);
  // A failed attempt: pending again at `next_attempt_us`, or parked when that is nullopt.
  cqrs::Status MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                          std::optional<std::int64_t> next_attempt_us) EXCLUDES(mu_);

  cqrs::Result<std::vector<WebhookDelivery>> List(const std::string& endpoint_id, DeliveryFilter filter,
                                                  std::size_t limit) const EXCLUDES(mu_);
  // A parked or failing delivery is pending again, due now (a parked one gets its attempts back).
  // NotFound when the endpoint has no such delivery, AlreadyExists when it was delivered.
  cqrs::Status Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) EXCLUDES(mu_);

  // Forgets the endpoint's deliveries delivered before `before_us` (a retention bound).
  cqrs::Status PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) EXCLUDES(mu_);

  // Deliveries by state, for the metrics: pending, failed, parked.
  struct Counts {
    std::int64_t pending = 0, failed = 0, parked = 0;
  };
  cqrs::Result<Counts> CountStates() const EXCLUDES(mu_);

 private:
  explicit WebhookStore(std::unique_ptr<cqrs::sql::Database> db) : db_(std::move(db)) {}
  cqrs::Status LoadEndpoints() EXCLUDES(mu_);

  mutable cqrs::Mutex mu_;
  std::unique_ptr<cqrs::sql::Database> db_ GUARDED_BY(mu_);
  std::map<std::string, WebhookEndpoint> endpoints_ GUARDED_BY(mu_);
};

}  // namespace adsd::ads::notify
