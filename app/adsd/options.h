// ServiceOptions: what one adsd process runs (its role and pipeline) and on which backends.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "ads/latency_model.h"
#include "app/common/consumers_ahead.h"
#include "cqrs/core/status.h"
#include "http/server.h"

namespace adsd::app {

// The case study's three flows, named for what they do (the command line keeps the paper's
// names: async, cqrs, sync). See ads/write/pipeline.h.
enum class Pipeline {
  kPublishFirst,      // --pipeline async: the paper's optimized CQRS flow
  kStoreThenPublish,  // --pipeline cqrs: the write model and an outbox, then publish
  kSynchronous,       // --pipeline sync: the baseline, decided in the request
};
// `all` runs everything in one process; `write` the Write API (and the bus relay); `read` the
// Read API over its own read model; `worker` the validation consumer (and the bus relay).
enum class Role { kAll, kWrite, kRead, kWorker };

std::string_view RoleName(Role role);

// Webhooks and the live stream (app/adsd/notifications.h).
struct NotifyOptions {
  // Endpoints on loopback, private and link-local addresses, and plain http: development and tests.
  bool webhooks_allow_private = false;
  std::chrono::milliseconds webhook_connect_timeout{3000};
  std::chrono::milliseconds webhook_response_timeout{10000};
  int webhook_max_attempts = 8;                     // then parked
  std::chrono::milliseconds webhook_backoff{1000};  // the first retry's pause (doubling, jittered)
  std::chrono::milliseconds webhook_backoff_max{600'000};
  std::string webhook_ca_file;  // PEM authorities to trust for https endpoints; empty: the system's
  std::chrono::milliseconds stream_heartbeat{15'000};
  int streams_per_retailer = 5;
};

struct ServiceOptions {
  std::filesystem::path data_dir = "./data";
  http::ServerOptions http;
  std::filesystem::path api_keys;  // empty: DATA_DIR/api-keys.toml, created if missing
  std::filesystem::path rules;     // empty: the compiled-in defaults
  Pipeline pipeline = Pipeline::kPublishFirst;
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
  NotifyOptions notify;

  bool serves_writes() const { return role == Role::kAll || role == Role::kWrite; }
  bool serves_reads() const { return role == Role::kAll || role == Role::kRead; }
  bool runs_worker() const { return role == Role::kAll || role == Role::kWorker; }
};

// Refuses combinations that cannot work, before anything is created: a refused start changes
// nothing on disk.
cqrs::Status CheckOptions(const ServiceOptions& options);

// The SQLite read model's file: sqlite:PATH from --read-db, else DATA_DIR/read.db.
std::filesystem::path SqliteReadModelPath(const ServiceOptions& options);

// postgresql://... or postgres://...
bool IsPostgresUrl(std::string_view url);

}  // namespace adsd::app
