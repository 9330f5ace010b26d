// AdService: the ad-management service, wired together for one role and one set of backends.
//
//   event store (DATA_DIR/log, or PostgreSQL) ──> ads read model (DATA_DIR/read.db, or PostgreSQL
//          │                                        shared by the read processes; projection runner)
//          │
//          └──(the store itself, or Kafka via the bus relay)──> validation worker ──> verdict events
//
// Roles (DESIGN.md, "Distributed backends"): `all` runs everything in one process; `write` the
// Write API (and the bus relay), `read` the Read API over its own read model, `worker` the
// validation consumer (and the bus relay). Roles other than `all` need a shared store
// (`--store postgresql://...`); `worker` in more than one process needs the Kafka bus.
//
// HTTP routes are in write_routes.cc and read_routes.cc. Lifecycle: Start() opens and recovers
// everything and starts serving; Stop() stops accepting, finishes in-flight requests, then stops
// the consumers and closes the log (everything acknowledged is already durable).
#pragma once

#include <filesystem>
#include <mutex>
#include <memory>
#include <string>

#include "ads/ad_queries.h"
#include "ads/pg_read_model.h"
#include "ads/sqlite_ad_queries.h"
#include "ads/latency_model.h"
#include "ads/outbox.h"
#include "ads/read_model.h"
#include "ads/rules/rules.h"
#include "ads/validation_worker.h"
#include "app/adsd/blocking_pool.h"
#include "app/adsd/consumers_ahead.h"
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/relay.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/projection/pg_projection.h"
#include "cqrs/projection/projection.h"
#include "cqrs/sql/checkpointer.h"
#include "cqrs/store/event_store.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/server.h"

namespace adsd::app {

enum class Pipeline { kAsync, kCqrs, kSync };
enum class Role { kAll, kWrite, kRead, kWorker };

struct ServiceOptions {
  std::filesystem::path data_dir = "./data";
  http::ServerOptions http;
  std::filesystem::path api_keys;  // empty: DATA_DIR/api-keys.toml, created if missing
  std::filesystem::path rules;     // empty: the compiled-in defaults
  Pipeline pipeline = Pipeline::kAsync;
  Role role = Role::kAll;
  std::string store_url;  // empty: the embedded log in data_dir; or postgresql://...
  std::string bus_url;    // empty: consumers follow the store; or kafka://HOST:PORT[?partitions=N]
  // empty: DATA_DIR/read.db (SQLite); sqlite:PATH (SQLite, there); or postgresql://... (shared)
  std::string read_db_url;
  std::string validator_url;  // empty: in-process rules only
  std::chrono::milliseconds validator_timeout{2000};
  std::chrono::milliseconds validator_breaker_open{5000};
  // Ads the validation worker judges at once (its lanes); each ad's events stay in order.
  int consumers = 1;
  // A consumer found ahead of the embedded log at start: refuse to start, or repair (consumers_ahead.h).
  AheadPolicy consumers_ahead = AheadPolicy::kRefuse;
  // Threads for request steps that block (the sync and cqrs pipelines, modeled latencies).
  int blocking_threads = 32;
  // The paper benchmark: inject these step latencies (divided by `latency_scale`) into the real
  // code path. Disabled by default.
  ads::LatencyModel latency;
};

class AdService {
 public:
  static cqrs::Result<std::unique_ptr<AdService>> Start(const ServiceOptions& options);
  ~AdService();

  std::uint16_t port() const { return server_->port(); }
  const http::ApiKeys& keys() const { return keys_; }
  bool created_keys() const { return created_keys_; }
  void Stop();

  // Used by the route handlers.
  cqrs::EventStore& store() { return *store_; }
  const ads::AdQueries& queries() const { return *queries_; }
  // The live read-model runner. A copy: a rebuild may replace it while the caller uses it.
  std::shared_ptr<cqrs::projection::Runner> runner() const { return std::atomic_load(&runner_); }

  // Rebuilds the read model from the log while the current one keeps serving. SQLite: into a fresh
  // file, swapped in at the end (a moment of read-model pause). PostgreSQL: in one transaction on
  // the process that applies the read model (readers see the old rows until it commits). One at
  // a time.
  struct RebuildResult {
    std::uint64_t events = 0;
    double seconds = 0;
  };
  cqrs::Result<RebuildResult> RebuildReadModel();
  ads::ValidationWorker& worker() { return *worker_; }
  Role role() const { return options_.role; }
  bool serves_writes() const { return options_.role == Role::kAll || options_.role == Role::kWrite; }
  bool serves_reads() const { return options_.role == Role::kAll || options_.role == Role::kRead; }
  bool runs_worker() const { return options_.role == Role::kAll || options_.role == Role::kWorker; }
  BlockingPool& pool() { return *pool_; }
  ads::Outbox* outbox() { return outbox_.get(); }  // null unless the cqrs pipeline was ever used
  Pipeline pipeline() const { return options_.pipeline; }
  http::Metrics& metrics() { return metrics_; }
  const ads::LatencyModel& latency() const { return latency_; }

 private:
  explicit AdService(ServiceOptions o) : options_(std::move(o)) {}
  cqrs::Status Open();
  cqrs::Status CheckRoleOptions() const;
  cqrs::Status OpenStore();
  cqrs::Status OpenReadSide();
  cqrs::Status OpenWorker();
  cqrs::Status OpenBusRelay();
  void AddGauges();
  // /readyz: what this role waits for, as JSON; `ready` says whether it is ready.
  std::string Readiness(bool& ready) const;
  void AddRoutes();
  // The live read model's runner options: its lag goes to the metrics.
  cqrs::projection::RunnerOptions LiveRunnerOptions();
  void ObserveReadModelLag(std::span<const cqrs::RecordedEvent> events);
  cqrs::Status OpenPostgresReadModel();
  // The SQLite read model's file: sqlite:PATH from --read-db, else DATA_DIR/read.db.
  std::filesystem::path SqliteReadModelPath() const;
  cqrs::Result<RebuildResult> RebuildSqliteReadModel();
  void AddWriteRoutes();
  void AddReadRoutes();
  // POST /v1/ads through the configured pipeline. `on_pool`: already on a blocking thread;
  // `arrived`: when the request was handed over (its basic-validation step begins there).
  void SubmitAd(http::Request& req, const http::Responder& respond, bool on_pool,
                ads::LatencyModel::Clock::time_point arrived);

  ServiceOptions options_;
  ads::LatencyModel latency_;  // options_.latency, reporting to metrics_
  http::ApiKeys keys_;
  bool created_keys_ = false;
  std::unique_ptr<ads::RuleEngine> rules_;
  std::unique_ptr<cqrs::EventStore> store_;
  cqrs::log::RecoveryReport log_recovery_;  // what opening the embedded log found
  std::unique_ptr<cqrs::log::ConsumerOffsets> offsets_;
  // Read models live as long as the service: a replaced runner may still be held by a request.
  std::vector<std::unique_ptr<ads::AdsReadModel>> read_models_;
  std::shared_ptr<cqrs::projection::Runner> runner_;       // atomic_load / atomic_store
  std::unique_ptr<cqrs::sql::Checkpointer> checkpointer_;  // the live SQLite read model's
  // With --read-db postgresql://: the model and its runner (owned by runner_, never replaced).
  std::unique_ptr<ads::AdsPgReadModel> pg_read_model_;
  cqrs::projection::PgProjectionRunner* pg_runner_ = nullptr;
  std::mutex rebuild_mu_;
  std::unique_ptr<ads::ExternalValidator> external_;
  std::unique_ptr<ads::ValidationWorker> worker_;
  std::unique_ptr<cqrs::kafka::BusConsumer> bus_consumer_;  // the worker's, on the Kafka bus
  std::unique_ptr<cqrs::kafka::BusRelay> bus_relay_;        // store -> Kafka
  std::unique_ptr<ads::AdQueries> queries_;
  ads::SqliteAdQueries* sqlite_queries_ = nullptr;  // queries_, when the read model is SQLite
  std::unique_ptr<ads::Outbox> outbox_;
  std::unique_ptr<ads::OutboxRelay> relay_;
  std::unique_ptr<BlockingPool> pool_;
  http::Metrics metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  bool stopped_ = false;
};

// postgresql://... or postgres://...
bool IsPostgresUrl(std::string_view url);

// Test-only fault injection: true when the environment variable ADSD_FAILPOINT names `point`.
// Used by the end-to-end tests to stop the process at an exact step (e.g. between the outbox
// commit and the publish). Never set in production.
bool Failpoint(std::string_view point);

// The principal of a request, or the 401/403 answer already sent.
std::optional<http::Principal> Authorize(const AdService& service, const http::Request& req,
                                         const http::Responder& respond, bool admin_only = false);

}  // namespace adsd::app
