// PgWebhookStore: the distributed shape's WebhookStore, in the event store's PostgreSQL database
// (tables webhook_endpoints and webhook_deliveries, schema component "webhooks"), shared by every
// process of the deployment: an endpoint registered on a write process is in the next query of
// the delivering worker, with no cache to refresh.
//
// The fan-out (pg_webhook_deliverer.h) commits a batch of changes in one transaction: the
// deliveries it derives and its checkpoint (table `checkpoints`), on the connection that holds
// its leadership. That transaction and a registration take the same transaction-scoped advisory
// lock, so a change is either fanned out before the registration (then it is at or below the
// endpoint's `after`, the log head the registration reads) or sees the endpoint.
//
// Thread-safety: every method is safe from any thread (each borrows a pooled connection for one
// statement or transaction).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ads/notify/webhook_store.h"
#include "cqrs/pg/connection.h"
#include "cqrs/pg/pool.h"

namespace adsd::ads::notify {

class PgWebhookStore final : public WebhookStore {
 public:
  // NOTIFY channel of changes the delivering worker acts on at once (PgWebhookDeliverer listens):
  // payload an endpoint id (a retry of one of its deliveries was asked), or empty (an endpoint was
  // registered or removed). Sent in the changing transaction, so it arrives after its commit.
  static constexpr std::string_view kChangesChannel = "adsd_webhooks";

  // Connects and applies the schema migrations (on a read replica: checks them instead; the
  // writing methods then fail with the server's error).
  static cqrs::Result<std::unique_ptr<PgWebhookStore>> Open(const std::string& url);

  // `head` is not used: the head is the log_head row, read in the registration's transaction.
  cqrs::Status AddEndpoint(WebhookEndpoint& e, std::size_t limit, const std::function<cqrs::Position()>& head) override;
  cqrs::Status RemoveEndpoint(const std::string& id, const std::string& retailer) override;
  cqrs::Result<std::vector<WebhookEndpoint>> Endpoints() const override;
  cqrs::Result<std::optional<WebhookEndpoint>> Endpoint(const std::string& id) const override;
  cqrs::Status AddDeliveries(const std::vector<WebhookDelivery>& ds) override;
  cqrs::Result<Next> NextDue(const std::string& endpoint_id, std::int64_t now_us) override;
  cqrs::Status MarkDelivered(const std::string& id, int status, std::int64_t now_us) override;
  cqrs::Status MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                          std::optional<std::int64_t> next_attempt_us) override;
  cqrs::Result<std::vector<WebhookDelivery>> List(const std::string& endpoint_id, DeliveryFilter filter,
                                                  std::size_t limit) const override;
  cqrs::Status Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) override;
  cqrs::Status PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) override;
  cqrs::Result<Counts> CountStates() const override;

  // The fan-out's side, on the caller's connection (the leader's session):
  // The checkpoint `name` (0 when none).
  static cqrs::Result<cqrs::Position> Checkpoint(cqrs::pg::Connection& conn, const std::string& name);
  // Whether any endpoint is registered, asked under the registration lock: a change read before
  // a `false` is not for any endpoint registered later (its `after` is at or above the change).
  static cqrs::Result<bool> AnyEndpoint(cqrs::pg::Connection& conn);
  static cqrs::Status SaveCheckpoint(cqrs::pg::Connection& conn, const std::string& name, cqrs::Position at);
  // One transaction: under the registration lock, reads the endpoints, inserts the deliveries
  // `derive` makes of them (ignoring ids already there) and sets checkpoint `name` to `last`.
  using Derive = std::function<std::vector<WebhookDelivery>(const std::vector<WebhookEndpoint>&)>;
  static cqrs::Status CommitFanOut(cqrs::pg::Connection& conn, const std::string& name, cqrs::Position last,
                                   const Derive& derive);

  const std::string& url() const { return pool_.url(); }

 private:
  // Idle connections kept: the lanes (one per endpoint) and the routes borrow one per call.
  explicit PgWebhookStore(const std::string& url) : pool_(url, 16) {}

  cqrs::pg::Pool pool_;
};

}  // namespace adsd::ads::notify
