// Readiness (/readyz): whether this process can do its role's work now, and why not.
//
// Ready when the store answers and every consumer this role runs is healthy and within a bound
// of the log's head. The answer lists each part, so an operator sees which one holds it back, and
// when not ready a `reason` in words (a damaged read model file, a consumer stopped or behind).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/adsd/options.h"
#include "cqrs/core/status.h"

namespace adsd::app {

struct ConsumerReadiness {
  std::uint64_t position = 0;
  cqrs::Status status;
};

struct BusRelayReadiness {
  cqrs::Status status;
  bool leader = false;
  std::uint64_t published = 0;
};

// The webhook deliverer of a worker process on PostgreSQL (one leads; informational).
struct WebhookDelivererReadiness {
  cqrs::Status status;
  bool leader = false;
  std::uint64_t position = 0;
};

struct BusConsumerReadiness {
  cqrs::Status status;
  int partitions = 0;
};

struct ReadinessReport {
  Role role = Role::kAll;
  cqrs::Status store;
  std::uint64_t log_head = 0;
  std::optional<ConsumerReadiness> projection;
  std::optional<cqrs::Status> read_model;      // the read model's database answers a query (SQLite)
  std::optional<bool> projection_leader;       // a read model shared in PostgreSQL
  std::optional<ConsumerReadiness> validator;  // the worker following the store
  std::optional<BusConsumerReadiness> bus_consumer;
  std::optional<BusConsumerReadiness> ingest_consumer;  // the submissions topic's (submission_bus.h)
  std::optional<BusRelayReadiness> bus_relay;
  std::optional<WebhookDelivererReadiness> webhooks;
};

// A consumer further behind the head than this is not ready.
inline constexpr std::uint64_t kMaxReadyLag = 10'000;

bool IsReady(const ReadinessReport& r);
// Why not ready, part by part ("; " between them); empty when ready.
std::string NotReadyReason(const ReadinessReport& r);
std::string ReadinessJson(const ReadinessReport& r);

}  // namespace adsd::app
