// AdService: the composition root. It opens the backends this process's role needs, wires the
// Write, Read and admin APIs to them, and serves HTTP.
//
//   event store (DATA_DIR/log, or PostgreSQL) ──> ads read model (ads::ReadSide: DATA_DIR/read.db, or
//          │                                        PostgreSQL shared by the read processes)
//          │
//          └──(the store itself, or Kafka via the bus relay)──> validation worker ──> verdict events
//
// Roles (options.h): `all` runs everything in one process; `write` the Write API (and the bus
// relay), `read` the Read API over its own read model, `worker` the validation consumer (and the
// bus relay). Roles other than `all` need a shared store (`--store postgresql://...`); `worker`
// in more than one process needs the Kafka bus.
//
// Lifecycle: Start() opens and recovers everything and starts serving; Stop() stops accepting,
// finishes in-flight requests, then stops the consumers and closes the log (everything
// acknowledged is already durable).
#pragma once

#include <memory>

#include "ads/external_validator.h"
#include "ads/read/read_handler.h"
#include "ads/read/read_side.h"
#include "ads/rules/rules.h"
#include "ads/validation_worker.h"
#include "ads/write/command_handler.h"
#include "ads/write/outbox.h"
#include "ads/write/pipeline.h"
#include "app/adsd/admin_api.h"
#include "app/adsd/blocking_pool.h"
#include "app/adsd/notifications.h"
#include "app/adsd/options.h"
#include "app/adsd/read_api.h"
#include "app/adsd/submission_bus.h"
#include "app/adsd/write_api.h"
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/generation.h"
#include "cqrs/kafka/relay.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/store/event_store.h"
#include "http/auth.h"
#include "http/metrics.h"
#include "http/server.h"

namespace adsd::app {

class AdService {
 public:
  static cqrs::Result<std::unique_ptr<AdService>> Start(const ServiceOptions& options);
  ~AdService();

  std::uint16_t port() const { return server_->port(); }
  const http::ApiKeys& keys() const { return keys_; }
  bool created_keys() const { return created_keys_; }
  void Stop();

 private:
  explicit AdService(ServiceOptions o) : options_(std::move(o)) {}
  cqrs::Status Open();
  cqrs::Status OpenKeys();
  cqrs::Status OpenRules();
  cqrs::Status OpenStore();
  // The embedded log: what recovery cut, and no consumer ahead of the log (consumers_ahead.h).
  cqrs::Status CheckConsumersAgainstTheLog();
  // PostgreSQL: no consumer ahead of the store, and the bus's topic generation (store_ahead.h).
  cqrs::Status CheckConsumersAgainstTheStore();
  // The events topic's options: --bus, on its current generation's topic.
  cqrs::Result<cqrs::kafka::BusOptions> EventsBus() const;
  cqrs::Status OpenReadSide();
  cqrs::Status OpenWorker();
  cqrs::Status OpenBusRelay();
  // The submissions topic, opened by whichever of the write and worker sides needs it first.
  cqrs::Result<SubmissionBus*> OpenSubmissionBus();
  cqrs::Status OpenCommands();
  // Webhooks and the live stream (notifications.h).
  cqrs::Status OpenNotifications();
  void AddGauges();
  void AddRoutes();
  ReadinessReport Readiness() const;
  void ObserveReadModelLag(std::span<const cqrs::RecordedEvent> events);
  ads::BlockingExecutor Blocking();

  ServiceOptions options_;
  cqrs::log::RecoveryReport log_recovery_;  // what opening the embedded log found
  ads::LatencyModel latency_;               // options_.latency, reporting to metrics_
  http::ApiKeys keys_;
  bool created_keys_ = false;
  http::Metrics metrics_;
  std::unique_ptr<ads::RuleEngine> rules_;
  std::unique_ptr<cqrs::EventStore> store_;
  std::unique_ptr<BlockingPool> pool_;
  // The read side (serves_reads()): the read model and the queries on it.
  std::unique_ptr<ads::ReadSide> read_side_;
  std::unique_ptr<ads::AdReadHandler> reads_;
  // The validation consumer (runs_worker()), on the store or as a member of the bus's group.
  std::unique_ptr<cqrs::log::ConsumerOffsets> offsets_;
  std::unique_ptr<ads::ExternalValidator> external_;
  std::unique_ptr<ads::ValidationWorker> worker_;
  std::unique_ptr<cqrs::kafka::BusConsumer> bus_consumer_;
  // The optimized pipeline on Kafka (--pipeline async with --bus): the write side publishes
  // submissions, the worker side stores and judges them.
  std::unique_ptr<SubmissionBus> submission_bus_;
  // The events topic's current generation (set at start when this process uses the bus).
  std::optional<cqrs::kafka::TopicGeneration> generation_;
  // Store -> Kafka (with --bus, on write and worker processes).
  std::unique_ptr<cqrs::kafka::BusRelay> bus_relay_;
  // The command side (serves_writes()); the outbox and its relay (SQLite outbox -> store) exist
  // when the cqrs pipeline is used or was used before.
  std::unique_ptr<ads::Outbox> outbox_;
  std::unique_ptr<ads::OutboxRelay> outbox_relay_;
  std::unique_ptr<ads::SubmitPipeline> pipeline_;
  std::unique_ptr<ads::AdCommandHandler> commands_;
  // HTTP.
  http::Router router_;
  std::unique_ptr<WriteApi> write_api_;
  std::unique_ptr<ReadApi> read_api_;
  std::unique_ptr<AdminApi> admin_api_;
  std::unique_ptr<Notifications> notifications_;  // adds its own routes (before AddRoutes)
  std::unique_ptr<http::Server> server_;
  bool stopped_ = false;
};

}  // namespace adsd::app
