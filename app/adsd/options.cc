#include "app/adsd/options.h"

#include "app/common/data_dir.h"

namespace adsd::app {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kWrite:
      return "write";
    case Role::kRead:
      return "read";
    case Role::kWorker:
      return "worker";
    case Role::kAll:
      break;
  }
  return "all";
}

std::filesystem::path SqliteReadModelPath(const ServiceOptions& options) {
  if (options.read_db_url.starts_with("sqlite:")) return std::filesystem::path(options.read_db_url.substr(7));
  return ReadModelPath(options.data_dir);
}

bool IsPostgresUrl(std::string_view url) { return url.starts_with("postgresql://") || url.starts_with("postgres://"); }

cqrs::Status CheckOptions(const ServiceOptions& options) {
  const bool shared_store = IsPostgresUrl(options.store_url);
  if (!options.store_url.empty() && !shared_store) {
    return cqrs::InvalidArgument("--store: expected postgresql://USER@HOST:PORT/DB, got '" + options.store_url + "'");
  }
  if (options.role != Role::kAll && !shared_store) {
    return cqrs::InvalidArgument(
        "--role write|read|worker shares its store with other processes: "
        "it needs --store postgresql://...");
  }
  if (!options.bus_url.empty() && !shared_store) {
    return cqrs::InvalidArgument(
        "--bus kafka://... publishes from the PostgreSQL store: it needs --store postgresql://...");
  }
  if (!options.read_db_url.empty()) {
    const bool sqlite_path = options.read_db_url.starts_with("sqlite:") && options.read_db_url.size() > 7;
    if (!IsPostgresUrl(options.read_db_url) && !sqlite_path) {
      return cqrs::InvalidArgument("--read-db: expected postgresql://USER@HOST:PORT/DB or sqlite:PATH, got '" +
                                   options.read_db_url + "'");
    }
    if (!options.serves_reads()) {
      return cqrs::InvalidArgument(
          "--read-db is where the Read API's model lives: --role write and --role worker "
          "serve no reads");
    }
  }
  if (options.notify.webhook_max_attempts < 1 || options.notify.streams_per_retailer < 1) {
    return cqrs::InvalidArgument("--webhook-max-attempts and --streams-per-retailer must be at least 1");
  }
  if (options.pipeline == Pipeline::kSynchronous && options.role != Role::kAll) {
    return cqrs::InvalidArgument(
        "--pipeline sync answers from the read model after validation in the request: "
        "it needs --role all");
  }
  if (options.pipeline == Pipeline::kPublishFirst && options.role != Role::kAll && options.latency.enabled()) {
    return cqrs::InvalidArgument(
        "--paper-model with --pipeline async needs --role all (its consumer waits for the "
        "read model)");
  }
  return cqrs::Status::Ok();
}

}  // namespace adsd::app
