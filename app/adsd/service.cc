#include "app/adsd/service.h"

#include <fmt/core.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ads/bus_submission.h"
#include "app/adsd/failpoint.h"
#include "app/adsd/store_ahead.h"
#include "app/adsd/ui_routes.h"
#include "app/common/data_dir.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::app {

namespace fs = std::filesystem;

namespace {
// Bucket bounds of the batch-size histograms (events or appends per batch).
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

cqrs::AheadPolicy StorePolicy(AheadPolicy p) {
  return p == AheadPolicy::kRepair ? cqrs::AheadPolicy::kRepair : cqrs::AheadPolicy::kRefuse;
}

// The bus as adsd names it when --bus does not: its topic is `adsd.events`.
cqrs::kafka::BusOptions AdsdBus() {
  cqrs::kafka::BusOptions bus;
  bus.topic = "adsd.events";
  bus.event_source = {.source = "/adsd", .content_type = "application/json"};
  return bus;
}
}  // namespace

cqrs::Result<std::unique_ptr<AdService>> AdService::Start(const ServiceOptions& options) {
  std::unique_ptr<AdService> s(new AdService(options));
  RETURN_IF_ERROR(s->Open());
  return s;
}

AdService::~AdService() { Stop(); }

cqrs::Status AdService::Open() {
  RETURN_IF_ERROR(CheckOptions(options_));  // before anything is created: a refused start changes nothing
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) return cqrs::ErrnoError("create " + options_.data_dir.string(), ec.value());
  RETURN_IF_ERROR(OpenKeys());
  RETURN_IF_ERROR(OpenRules());
  RETURN_IF_ERROR(OpenStore());
  RETURN_IF_ERROR(options_.store_url.empty() ? CheckConsumersAgainstTheLog() : CheckConsumersAgainstTheStore());
  latency_ = options_.latency;
  latency_.set_observer([this](ads::Step step, double seconds) { metrics_.ObserveStep(ads::StepName(step), seconds); });
  pool_ = std::make_unique<BlockingPool>(options_.blocking_threads);
  if (options_.serves_reads()) RETURN_IF_ERROR(OpenReadSide());
  // The worker runs whatever the pipeline: in `sync` it catches up on anything a crash or an
  // earlier async run left undecided; deciding twice is impossible (see ValidationWorker).
  if (options_.runs_worker()) RETURN_IF_ERROR(OpenWorker());
  if (options_.serves_writes()) RETURN_IF_ERROR(OpenCommands());
  if (!options_.bus_url.empty() && options_.role != Role::kRead) RETURN_IF_ERROR(OpenBusRelay());
  RETURN_IF_ERROR(OpenNotifications());
  AddGauges();
  AddRoutes();
  options_.http.reuse_port = options_.role == Role::kWrite || options_.role == Role::kRead;
  ASSIGN_OR_RETURN(server_, http::Server::Start(options_.http, router_, &metrics_));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenKeys() {
  // API keys: the given file, or a development file in the data directory.
  if (!options_.api_keys.empty()) {
    ASSIGN_OR_RETURN(keys_, http::ApiKeys::Load(options_.api_keys));
    return cqrs::Status::Ok();
  }
  const fs::path dev = options_.data_dir / "api-keys.toml";
  if (fs::exists(dev)) {
    ASSIGN_OR_RETURN(keys_, http::ApiKeys::Load(dev));
  } else {
    ASSIGN_OR_RETURN(keys_, http::ApiKeys::CreateDevelopmentFile(dev));
    created_keys_ = true;
  }
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenRules() {
  if (options_.rules.empty()) {
    rules_ = std::make_unique<ads::RuleEngine>(ads::RuleEngine::Defaults());
    return cqrs::Status::Ok();
  }
  std::ifstream in(options_.rules);
  if (!in) return cqrs::NotFound("rules file " + options_.rules.string() + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(auto engine, ads::RuleEngine::FromToml(text.str(), options_.rules.string()));
  rules_ = std::make_unique<ads::RuleEngine>(std::move(engine));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenStore() {
  if (!options_.store_url.empty()) {
    cqrs::PostgresStoreOptions o{options_.store_url};
    // A read process never appends: it may then read from a replica of the primary.
    o.read_only = options_.role == Role::kRead;
    // Idle read connections kept for the threads that may read at once, so none opens and closes
    // a connection per read: the HTTP threads, the blocking pool, the worker's lanes, the relay
    // and a subscription.
    o.read_connections = options_.http.threads + 2;
    if (options_.serves_writes()) o.read_connections += options_.blocking_threads;
    if (options_.runs_worker()) o.read_connections += options_.consumers;
    metrics_.AddHistogram("adsd_event_store_append_batch_size",
                          "Appends committed in one PostgreSQL transaction of the event store's writer.", kBatchBounds);
    o.on_batch = [this](std::size_t appends) {
      const double n = static_cast<double>(appends);
      metrics_.Observe("adsd_event_store_append_batch_size", std::span(&n, 1));
    };
    // Whatever this process consumed may be ahead of a store that went back in time under it:
    // nothing here may go on with it (store_ahead.h). Its supervisor starts it again, and the
    // start-time check refuses or repairs.
    o.on_went_back = [](cqrs::Position seen, cqrs::Position now) {
      fmt::print(stderr,
                 "adsd: the event store went back in time while this process ran: its head is {}, and this process "
                 "had seen {} (a point-in-time restore, or a failover that lost commits). Stopping: what it consumed "
                 "may be ahead of the store. Start it again; if it refuses, {}\n",
                 now.value(), seen.value(), kStoreAheadRemedy);
      std::fflush(stderr);
      std::_Exit(4);
    };
    ASSIGN_OR_RETURN(store_, cqrs::OpenPostgresEventStore(o));
    return cqrs::Status::Ok();
  }
  metrics_.AddHistogram("adsd_log_commit_seconds",
                        "Time of one group commit of the event log: its write and fdatasync.",
                        {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  cqrs::EmbeddedStoreOptions store_options{LogDir(options_.data_dir)};
  store_options.on_commit = [this](double seconds) {
    metrics_.Observe("adsd_log_commit_seconds", std::span(&seconds, 1));
  };
  store_options.on_recovery = [this](const cqrs::log::RecoveryReport& r) { log_recovery_ = r; };
  ASSIGN_OR_RETURN(store_, cqrs::OpenEmbeddedEventStore(store_options));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::CheckConsumersAgainstTheLog() {
  return AfterLogRecovery(log_recovery_, options_.data_dir, SqliteReadModelPath(options_), store_->Head(),
                          options_.consumers_ahead);
}

cqrs::Status AdService::CheckConsumersAgainstTheStore() {
  StoreAheadCheck c;
  c.store_url = options_.store_url;
  c.policy = StorePolicy(options_.consumers_ahead);
  // Write and worker processes run the bus relay and the webhook fan-out: theirs are the store's
  // checkpoints and the bus. A read process checks its own read model.
  c.checks_store_checkpoints = options_.role != Role::kRead;
  if (!options_.bus_url.empty() && options_.role != Role::kRead) {
    ASSIGN_OR_RETURN(c.bus, cqrs::kafka::ParseBusUrl(options_.bus_url, AdsdBus()));
  }
  if (options_.serves_reads() && !IsPostgresUrl(options_.read_db_url))
    c.sqlite_read_model = SqliteReadModelPath(options_);
  if (options_.runs_worker() && options_.bus_url.empty()) c.offsets_dir = OffsetsDir(options_.data_dir);
  ASSIGN_OR_RETURN(StoreAheadOutcome outcome, CheckConsumersAgainstStore(*store_, c));
  for (const std::string& line : outcome.repairs) fmt::print(stderr, "adsd: {}\n", line);
  generation_ = std::move(outcome.generation);
  return cqrs::Status::Ok();
}

cqrs::Result<cqrs::kafka::BusOptions> AdService::EventsBus() const {
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, cqrs::kafka::ParseBusUrl(options_.bus_url, AdsdBus()));
  if (generation_) bus.topic = generation_->topic;
  return bus;
}

cqrs::Status AdService::OpenReadSide() {
  metrics_.AddHistogram(
      "adsd_read_model_lag_seconds", "Time from an event's append to its commit in the read model (write-to-read lag).",
      {0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5});
  ads::ReadSideOptions o;
  if (IsPostgresUrl(options_.read_db_url)) {
    o.postgres_url = options_.read_db_url;
  } else {
    o.sqlite_path = SqliteReadModelPath(options_);
  }
  o.query_connections = options_.http.threads;  // queries run on the HTTP threads
  // A shared model in PostgreSQL is held against the store by its runner (store_ahead.h).
  o.on_ahead = StorePolicy(options_.consumers_ahead);
  o.on_repaired = [](const std::string& what) { fmt::print(stderr, "adsd: repaired: {}\n", what); };
  o.on_committed = [this](std::span<const cqrs::RecordedEvent> events) { ObserveReadModelLag(events); };
  auto read_side = ads::ReadSide::Open(*store_, std::move(o));
  if (!read_side.ok() && read_side.status().code() == cqrs::StatusCode::kCorruption && !options_.store_url.empty() &&
      IsPostgresUrl(options_.read_db_url)) {
    // The shared model ahead of the store: the runner names it, adsd the remedy.
    return cqrs::Corruption("consumers are ahead of the event store: " + read_side.status().message() + "; " +
                            std::string(kStoreAheadRemedy));
  }
  ASSIGN_OR_RETURN(read_side_, std::move(read_side));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenWorker() {
  if (!options_.validator_url.empty()) {
    ads::ExternalValidatorOptions vo;
    vo.url = options_.validator_url;
    vo.timeout = options_.validator_timeout;
    vo.breaker.open_for = options_.validator_breaker_open;
    ASSIGN_OR_RETURN(external_, ads::ExternalValidator::Create(vo));
  }
  ads::ValidationWorkerOptions wo;
  wo.concurrency = options_.consumers;
  wo.latency = &latency_;
  // In sync the request decides; the worker only takes over what a request could not finish.
  // A quarter second: longer would hold back the consumer's offset by that much of the log
  // (readiness counts it), shorter would judge more ads twice (harmless: the second verdict is
  // recognized, but it costs a second external call).
  if (options_.pipeline == Pipeline::kSynchronous) wo.grace = std::chrono::milliseconds(250);
  if (options_.pipeline == Pipeline::kPublishFirst && options_.bus_url.empty() && read_side_) {
    wo.await_stored = [this](cqrs::Position p) {
      read_side_->runner()->WaitFor(p, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    };
  }
  metrics_.AddHistogram("adsd_verdict_batch_size",
                        "Verdict appends in flight to the event store as each verdict is issued (itself "
                        "included): the verdicts that can share its commit.",
                        kBatchBounds);
  wo.on_verdict = [this](std::size_t pending) {
    const double n = static_cast<double>(pending);
    metrics_.Observe("adsd_verdict_batch_size", std::span(&n, 1));
  };
  ASSIGN_OR_RETURN(offsets_, cqrs::log::ConsumerOffsets::Open(OffsetsDir(options_.data_dir)));
  worker_ = std::make_unique<ads::ValidationWorker>(*store_, *offsets_, *rules_, external_.get(), std::move(wo));
  if (options_.bus_url.empty()) return worker_->Start();
  // On the Kafka bus: this process is one member of the validators' consumer group, on the
  // topic's current generation (store_ahead.h).
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, EventsBus());
  cqrs::kafka::ConsumerOptions co;
  co.bus = bus;
  // A new generation republished what an earlier one carried: judged only if still undecided.
  if (generation_) co.maybe_repeated_through = generation_->replayed_through;
  // One group per topic: deployments (or tests) sharing a cluster must not rebalance each other.
  co.group = "adsd-" + std::string(ads::ValidationWorker::kGroup) + "." + bus.topic;
  co.lanes = options_.consumers;
  // Submissions that came through the submissions topic were judged as they were stored.
  co.filter = [](const cqrs::RecordedEvent& e) { return ads::ValidationWorker::Judges(e) && !ads::CameThroughBus(e); };
  ASSIGN_OR_RETURN(bus_consumer_, cqrs::kafka::BusConsumer::Start(
                                      co, cqrs::consumer::DeliveryHandler([this](const cqrs::RecordedEvent& e,
                                                                                 cqrs::consumer::Delivery delivery,
                                                                                 cqrs::consumer::Completion done) {
                                        worker_->Consume(e, delivery, std::move(done));
                                      })));
  // Whatever this deployment's write processes do, submissions published to the bus are stored
  // and judged by the workers.
  ASSIGN_OR_RETURN(SubmissionBus * submissions, OpenSubmissionBus());
  return submissions->StartIngest(*store_, *worker_, &latency_, options_.consumers);
}

cqrs::Result<SubmissionBus*> AdService::OpenSubmissionBus() {
  if (!submission_bus_) {
    ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, cqrs::kafka::ParseBusUrl(options_.bus_url, AdsdBus()));
    ASSIGN_OR_RETURN(submission_bus_, SubmissionBus::Open(bus, metrics_));
  }
  return submission_bus_.get();
}

cqrs::Status AdService::OpenBusRelay() {
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, EventsBus());
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions base, cqrs::kafka::ParseBusUrl(options_.bus_url, AdsdBus()));
  cqrs::kafka::RelayOptions ro;
  ro.bus = bus;
  ro.generation_base = base.topic;
  ro.ahead_remedy = std::string(kStoreAheadRemedy);
  ro.postgres_url = options_.store_url;
  ro.name = "bus-relay:" + bus.topic;
  ro.before_publish = [] {
    if (Failpoint("before-bus-publish")) std::_Exit(3);
  };
  metrics_.AddHistogram("adsd_bus_relay_batch_size", "Events in one batch the relay hands to the Kafka producer.",
                        kBatchBounds);
  ro.on_batch = [this](std::size_t events) {
    const double n = static_cast<double>(events);
    metrics_.Observe("adsd_bus_relay_batch_size", std::span(&n, 1));
  };
  ASSIGN_OR_RETURN(bus_relay_, cqrs::kafka::BusRelay::Start(*store_, std::move(ro)));
  return cqrs::Status::Ok();
}

ads::BlockingExecutor AdService::Blocking() {
  return [this](std::function<void()> task) {
    return pool_->TrySubmit(std::move(task));  // full: the command answers 503 overloaded
  };
}

cqrs::Status AdService::OpenNotifications() {
  ASSIGN_OR_RETURN(notifications_, Notifications::Open(options_, Notifications::Deps{*store_, offsets_.get(), metrics_,
                                                                                     router_, keys_, *pool_}));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenCommands() {
  // The cqrs pipeline's write model and outbox. The relay also runs when an earlier cqrs run left
  // the outbox behind, so nothing it stored stays unpublished whatever the pipeline now.
  const fs::path write_db = options_.data_dir / "write.db";
  if (options_.pipeline == Pipeline::kStoreThenPublish || fs::exists(write_db)) {
    ASSIGN_OR_RETURN(outbox_, ads::Outbox::Open(write_db));
    outbox_relay_ = std::make_unique<ads::OutboxRelay>(*outbox_, *store_, std::chrono::seconds(1));
  }
  switch (options_.pipeline) {
    case Pipeline::kPublishFirst:
      if (options_.bus_url.empty()) {
        pipeline_ = ads::MakePublishFirstPipeline(*store_, latency_);  // the event log is the platform
        break;
      }
      {
        ASSIGN_OR_RETURN(SubmissionBus * submissions, OpenSubmissionBus());
        ASSIGN_OR_RETURN(ads::PublishToBusOptions o, submissions->PipelineOptions(Blocking()));
        pipeline_ = ads::MakePublishToBusPipeline(*store_, latency_, std::move(o));
      }
      break;
    case Pipeline::kStoreThenPublish:
      pipeline_ =
          ads::MakeStoreThenPublishPipeline(*store_, *outbox_, latency_, {.blocking = Blocking(), .after_store = [] {
                                                                            if (Failpoint("after-outbox-commit"))
                                                                              std::_Exit(3);
                                                                          }});
      break;
    case Pipeline::kSynchronous: {
      ads::SynchronousPipelineOptions o;
      o.blocking = Blocking();
      o.decide = [this](const cqrs::RecordedEvent& e, const std::function<void()>& stored) {
        return worker_->Decide(e, stored);
      };
      o.await_read_model = [this] {
        read_side_->runner()->WaitFor(store_->Head(), std::chrono::steady_clock::now() + std::chrono::seconds(10));
      };
      o.read_back = [this](const std::string& ad_id) { return read_side_->queries().Get(ad_id); };
      pipeline_ = ads::MakeSynchronousPipeline(*store_, latency_, std::move(o));
      break;
    }
  }
  commands_ = std::make_unique<ads::AdCommandHandler>(*store_, *pipeline_, latency_, Blocking());
  return cqrs::Status::Ok();
}

void AdService::AddRoutes() {
  if (commands_) {
    write_api_ = std::make_unique<WriteApi>(router_, keys_, *commands_);
    write_api_->AddRoutes();
  }
  if (read_side_) {
    reads_ = std::make_unique<ads::AdReadHandler>(*read_side_, *store_);
    read_api_ = std::make_unique<ReadApi>(router_, keys_, *reads_);
    read_api_->AddRoutes();
  }
  admin_api_ = std::make_unique<AdminApi>(
      router_, keys_, metrics_, read_side_.get(), *pool_, [this] { return Readiness(); },
      [this]() -> cqrs::Result<LogVerifyReport> {
        if (options_.store_url.empty()) return VerifyEmbeddedLog(LogDir(options_.data_dir));
        return VerifyPostgresLog(*store_);
      });
  admin_api_->AddRoutes();
  AddUiRoutes(router_);  // the web UI (/ui/), ui_routes.h
}

ReadinessReport AdService::Readiness() const {
  ReadinessReport r;
  r.role = options_.role;
  r.store = store_->Health();
  r.log_head = store_->Head().value();
  if (read_side_) {
    if (auto runner = read_side_->runner())
      r.projection = ConsumerReadiness{runner->position().value(), runner->status()};
    r.read_model = read_side_->ProbeDatabase();
    if (const auto* shared = read_side_->shared_runner()) r.projection_leader = shared->leader();
  }
  if (worker_ && !bus_consumer_) r.validator = ConsumerReadiness{worker_->position().value(), worker_->status()};
  if (bus_consumer_)
    r.bus_consumer = BusConsumerReadiness{bus_consumer_->status(), bus_consumer_->assigned_partitions()};
  if (const auto* ingest = submission_bus_ ? submission_bus_->ingest() : nullptr) {
    r.ingest_consumer = BusConsumerReadiness{ingest->status(), ingest->assigned_partitions()};
  }
  if (bus_relay_)
    r.bus_relay = BusRelayReadiness{bus_relay_->status(), bus_relay_->leader(), bus_relay_->published().value()};
  if (const auto* d = notifications_ ? notifications_->deliverer() : nullptr) {
    r.webhooks = WebhookDelivererReadiness{d->status(), d->leader(), d->position().value()};
  }
  return r;
}

void AdService::AddGauges() {
  metrics_.AddGauge("adsd_log_head_position", "Last durable position of the event log.", [this] {
    return std::vector<http::Metrics::Sample>{{{}, static_cast<double>(store_->Head().value())}};
  });
  // Consumers of the global order in this process, by name, and their positions.
  auto consumers = [this] {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    if (read_side_) {
      if (auto r = read_side_->runner()) out.emplace_back("projection:ads", r->position().value());
    }
    if (worker_ && !bus_consumer_) out.emplace_back("validator", worker_->position().value());
    if (bus_relay_ && bus_relay_->leader()) out.emplace_back("bus-relay", bus_relay_->published().value());
    return out;
  };
  metrics_.AddGauge("adsd_consumer_position", "Last position each consumer has processed.", [consumers] {
    std::vector<http::Metrics::Sample> out;
    for (const auto& [name, at] : consumers()) out.push_back({{{"consumer", name}}, static_cast<double>(at)});
    return out;
  });
  metrics_.AddGauge("adsd_consumer_lag_events", "Log head minus the consumer's position.", [this, consumers] {
    const double head = static_cast<double>(store_->Head().value());
    std::vector<http::Metrics::Sample> out;
    for (const auto& [name, at] : consumers()) out.push_back({{{"consumer", name}}, head - static_cast<double>(at)});
    return out;
  });
  if (read_side_ && read_side_->shared_runner() != nullptr) {
    metrics_.AddGauge("adsd_projection_leader",
                      "1 if this process applies the read model shared in PostgreSQL, 0 if it follows another.",
                      [this] {
                        const auto* r = read_side_ ? read_side_->shared_runner() : nullptr;
                        return std::vector<http::Metrics::Sample>{{{}, r != nullptr && r->leader() ? 1.0 : 0.0}};
                      });
  }
  if (bus_consumer_) {
    metrics_.AddGauge("adsd_bus_assigned_partitions", "Bus partitions this worker owns in its consumer group.", [this] {
      return std::vector<http::Metrics::Sample>{{{}, static_cast<double>(bus_consumer_->assigned_partitions())}};
    });
  }
}

void AdService::ObserveReadModelLag(std::span<const cqrs::RecordedEvent> events) {
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::vector<double> lag;
  lag.reserve(events.size());
  for (const auto& e : events) lag.push_back(static_cast<double>(now_us - e.timestamp_us) / 1e6);
  metrics_.Observe("adsd_read_model_lag_seconds", lag);
}

void AdService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (notifications_) notifications_->Stop();  // closes the live streams, so the drain need not wait
  if (server_) server_->Stop();                // in-flight requests finish first
  pool_.reset();
  outbox_relay_.reset();
  if (worker_) worker_->RequestStop();  // in-flight bus events give up their waits
  if (submission_bus_) submission_bus_->StopIngest();
  bus_consumer_.reset();  // commits what is done, leaves the group
  bus_relay_.reset();
  worker_.reset();
  submission_bus_.reset();
  if (read_side_) read_side_->Stop();
  notifications_.reset();
  store_.reset();
}

}  // namespace adsd::app
