// SqliteWebhookStore: the embedded shape's WebhookStore, one SQLite database in the data
// directory (DATA_DIR/webhooks.db, synchronous=FULL, created 0600: it holds the secrets).
//
// Thread-safety: one connection behind a mutex; each call is one short statement or transaction.
// Endpoints are also cached in memory (the fan-out reads them for every change; only this process
// writes them).
#pragma once

#include <filesystem>
#include <map>
#include <memory>

#include "ads/notify/webhook_store.h"
#include "cqrs/core/mutex.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::ads::notify {

class SqliteWebhookStore final : public WebhookStore {
 public:
  static cqrs::Result<std::unique_ptr<SqliteWebhookStore>> Open(const std::filesystem::path& file);

  cqrs::Status AddEndpoint(WebhookEndpoint& e, std::size_t limit, const std::function<cqrs::Position()>& head) override
      EXCLUDES(mu_);
  cqrs::Status RemoveEndpoint(const std::string& id, const std::string& retailer) override EXCLUDES(mu_);
  cqrs::Result<std::vector<WebhookEndpoint>> Endpoints() const override EXCLUDES(mu_);
  cqrs::Result<std::optional<WebhookEndpoint>> Endpoint(const std::string& id) const override EXCLUDES(mu_);
  cqrs::Status AddDeliveries(const std::vector<WebhookDelivery>& ds) override EXCLUDES(mu_);
  cqrs::Result<Next> NextDue(const std::string& endpoint_id, std::int64_t now_us) override EXCLUDES(mu_);
  cqrs::Status MarkDelivered(const std::string& id, int status, std::int64_t now_us) override EXCLUDES(mu_);
  cqrs::Status MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                          std::optional<std::int64_t> next_attempt_us) override EXCLUDES(mu_);
  cqrs::Result<std::vector<WebhookDelivery>> List(const std::string& endpoint_id, DeliveryFilter filter,
                                                  std::size_t limit) const override EXCLUDES(mu_);
  cqrs::Status Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) override EXCLUDES(mu_);
  cqrs::Status PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) override EXCLUDES(mu_);
  cqrs::Result<Counts> CountStates() const override EXCLUDES(mu_);

 private:
  explicit SqliteWebhookStore(std::unique_ptr<cqrs::sql::Database> db) : db_(std::move(db)) {}
  cqrs::Status LoadEndpoints() EXCLUDES(mu_);

  mutable cqrs::Mutex mu_;
  std::unique_ptr<cqrs::sql::Database> db_ GUARDED_BY(mu_);
  std::map<std::string, WebhookEndpoint> endpoints_ GUARDED_BY(mu_);
};

}  // namespace adsd::ads::notify
