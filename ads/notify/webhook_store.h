// WebhookStore: webhook endpoints and their deliveries. Two implementations: SQLite in the data
// directory for the embedded shape (sqlite_webhook_store.h), PostgreSQL beside the event store for
// the distributed one (pg_webhook_store.h).
//
// Endpoints are the retailers' registrations (with the secret that signs for them). A delivery is
// one status change for one endpoint; its id is derived from the endpoint and the event (so the
// fan-out may insert it twice: the second insert is ignored) and is the `webhook-id` of every
// attempt. States: pending (new, or failing and waiting for its next attempt), delivered, parked
// (given up after the last attempt; replayable).
//
// Thread-safety: every method of either implementation is safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

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
DeliveryState DeliveryStateOf(std::string_view name);

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
  std::string last_error;          // empty: none
  std::optional<int> last_status;  // the last answer's HTTP status
  std::int64_t created_us = 0;
  std::optional<std::int64_t> delivered_us;
};

// What a listing shows: failed = pending after at least one failed attempt.
enum class DeliveryFilter { kAll, kPending, kFailed, kParked, kDelivered };
// The filter as SQL on the webhook_deliveries columns (" AND …", empty for kAll), for both stores.
std::string_view DeliveryFilterSql(DeliveryFilter f);

// The event types of an endpoint as stored: comma-separated.
std::string JoinEventTypes(const std::vector<std::string>& events);
std::vector<std::string> SplitEventTypes(std::string_view text);

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Adds `e` with e.after set to the event store's head now, so that the fan-out delivers every
  // later change to it and no earlier one. The embedded store takes the head from `head` (its
  // caller serializes this with the fan-out); the PostgreSQL store reads it itself, under the
  // lock its fan-out transactions take. AlreadyExists when e.retailer has `limit` endpoints
  // already (counted under the same lock: concurrent registrations cannot pass it together).
  virtual cqrs::Status AddEndpoint(WebhookEndpoint& e, std::size_t limit,
                                   const std::function<cqrs::Position()>& head) = 0;
  // Removes the endpoint and its deliveries; NotFound when `retailer` (empty: any) has no such one.
  virtual cqrs::Status RemoveEndpoint(const std::string& id, const std::string& retailer) = 0;
  virtual cqrs::Result<std::vector<WebhookEndpoint>> Endpoints() const = 0;
  virtual cqrs::Result<std::optional<WebhookEndpoint>> Endpoint(const std::string& id) const = 0;

  // Inserts deliveries not already there (and not of an endpoint removed meanwhile), at once.
  virtual cqrs::Status AddDeliveries(const std::vector<WebhookDelivery>& ds) = 0;

  struct Next {
    std::optional<WebhookDelivery> due;       // the next delivery to attempt now
    std::optional<std::int64_t> earliest_us;  // else when the next pending one falls due
  };
  // The oldest pending delivery of the endpoint that is due and whose ad has no older pending
  // delivery on this endpoint (each ad's changes arrive in order).
  virtual cqrs::Result<Next> NextDue(const std::string& endpoint_id, std::int64_t now_us) = 0;
  virtual cqrs::Status MarkDelivered(const std::string& id, int status, std::int64_t now_us) = 0;
  // A failed attempt: pending again at `next_attempt_us`, or parked when that is nullopt.
  virtual cqrs::Status MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                                  std::optional<std::int64_t> next_attempt_us) = 0;

  virtual cqrs::Result<std::vector<WebhookDelivery>> List(const std::string& endpoint_id, DeliveryFilter filter,
                                                          std::size_t limit) const = 0;
  // A parked or failing delivery is pending again, due now (a parked one gets its attempts back).
  // NotFound when the endpoint has no such delivery, AlreadyExists when it was delivered.
  virtual cqrs::Status Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) = 0;

  // Forgets the endpoint's deliveries delivered before `before_us` (a retention bound).
  virtual cqrs::Status PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) = 0;

  // Deliveries by state, for the metrics: pending, failed, parked.
  struct Counts {
    std::int64_t pending = 0, failed = 0, parked = 0;
  };
  virtual cqrs::Result<Counts> CountStates() const = 0;
};

}  // namespace adsd::ads::notify
