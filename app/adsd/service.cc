#include "app/adsd/service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>

#include "ads/pg_ad_queries.h"
#include "app/common/data_dir.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/sql/checkpointer.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/postgres_store.h"
#include "http/problem.h"

namespace adsd::app {

namespace fs = std::filesystem;

// How often the read model's WAL is folded back into its file, off the projection's thread.
constexpr std::chrono::milliseconds kCheckpointEvery{250};

cqrs::Result<std::unique_ptr<AdService>> AdService::Start(const ServiceOptions& options) {
  std::unique_ptr<AdService> s(new AdService(options));
  RETURN_IF_ERROR(s->Open());
  return s;
}

cqrs::Status AdService::Open() {
  RETURN_IF_ERROR(CheckRoleOptions());  // before anything is created: a refused start changes nothing
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) return cqrs::ErrnoError("create " + options_.data_dir.string(), ec.value());

  // API keys: the given file, or a development file in the data directory.
  if (!options_.api_keys.empty()) {
    ASSIGN_OR_RETURN(keys_, http::ApiKeys::Load(options_.api_keys));
  } else {
    const fs::path dev = options_.data_dir / "api-keys.toml";
    if (fs::exists(dev)) {
      ASSIGN_OR_RETURN(keys_, http::ApiKeys::Load(dev));
    } else {
      ASSIGN_OR_RETURN(keys_, http::ApiKeys::CreateDevelopmentFile(dev));
      created_keys_ = true;
    }
  }

  if (options_.rules.empty()) {
    rules_ = std::make_unique<ads::RuleEngine>(ads::RuleEngine::Defaults());
  } else {
    std::ifstream in(options_.rules);
    if (!in) return cqrs::NotFound("rules file " + options_.rules.string() + " cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(auto engine, ads::RuleEngine::FromToml(text.str(), options_.rules.string()));
    rules_ = std::make_unique<ads::RuleEngine>(std::move(engine));
  }

  RETURN_IF_ERROR(OpenStore());
  latency_ = options_.latency;
  latency_.set_observer([this](ads::Step step, double seconds) { metrics_.ObserveStep(ads::StepName(step), seconds); });
  if (serves_reads()) RETURN_IF_ERROR(OpenReadSide());
  // The worker runs whatever the pipeline: in `sync` it catches up on anything a crash or an
  // earlier async run left undecided; deciding twice is impossible (see ValidationWorker).
  if (runs_worker()) RETURN_IF_ERROR(OpenWorker());
  if (serves_writes()) {
    // The cqrs pipeline's write model and outbox. The relay also runs when an earlier cqrs run
    // left the outbox behind, so nothing it stored stays unpublished whatever the pipeline now.
    const fs::path write_db = options_.data_dir / "write.db";
    if (options_.pipeline == Pipeline::kCqrs || fs::exists(write_db)) {
      ASSIGN_OR_RETURN(outbox_, ads::Outbox::Open(write_db));
      relay_ = std::make_unique<ads::OutboxRelay>(*outbox_, *store_, std::chrono::seconds(1));
    }
  }
  if (!options_.bus_url.empty() && options_.role != Role::kRead) RETURN_IF_ERROR(OpenBusRelay());
  pool_ = std::make_unique<BlockingPool>(options_.blocking_threads);
  AddGauges();
  AddRoutes();
  options_.http.reuse_port = options_.role == Role::kWrite || options_.role == Role::kRead;
  ASSIGN_OR_RETURN(server_, http::Server::Start(options_.http, router_, &metrics_));
  return cqrs::Status::Ok();
}

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

fs::path AdService::SqliteReadModelPath() const {
  if (options_.read_db_url.starts_with("sqlite:")) return fs::path(options_.read_db_url.substr(7));
  return ReadModelPath(options_.data_dir);
}

cqrs::Status AdService::CheckRoleOptions() const {
  const bool shared_store = IsPostgresUrl(options_.store_url);
  if (!options_.store_url.empty() && !shared_store) {
    return cqrs::InvalidArgument("--store: expected postgresql://USER@HOST:PORT/DB, got '" + options_.store_url + "'");
  }
  if (options_.role != Role::kAll && !shared_store) {
    return cqrs::InvalidArgument("--role write|read|worker shares its store with other processes: "
                                 "it needs --store postgresql://...");
  }
  if (!options_.bus_url.empty() && !shared_store) {
    return cqrs::InvalidArgument("--bus kafka://... publishes from the PostgreSQL store: it needs --store postgresql://...");
  }
  if (!options_.read_db_url.empty()) {
    const bool sqlite_path = options_.read_db_url.starts_with("sqlite:") && options_.read_db_url.size() > 7;
    if (!IsPostgresUrl(options_.read_db_url) && !sqlite_path) {
      return cqrs::InvalidArgument("--read-db: expected postgresql://USER@HOST:PORT/DB or sqlite:PATH, got '" +
                                   options_.read_db_url + "'");
    }
    if (!serves_reads()) {
      return cqrs::InvalidArgument("--read-db is where the Read API's model lives: --role write and --role worker "
                                   "serve no reads");
    }
  }
  if (options_.pipeline == Pipeline::kSync && options_.role != Role::kAll) {
    return cqrs::InvalidArgument("--pipeline sync answers from the read model after validation in the request: "
                                 "it needs --role all");
  }
  if (options_.pipeline == Pipeline::kAsync && options_.role != Role::kAll && options_.latency.enabled()) {
    return cqrs::InvalidArgument("--paper-model with --pipeline async needs --role all (its consumer waits for the "
                                 "read model)");
  }
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenStore() {
  if (!options_.store_url.empty()) {
    cqrs::PostgresStoreOptions o{options_.store_url};
    // A read process never appends: it may then read from a replica of the primary.
    o.read_only = options_.role == Role::kRead;
    ASSIGN_OR_RETURN(store_, cqrs::OpenPostgresEventStore(o));
    return cqrs::Status::Ok();
  }
  metrics_.AddHistogram("adsd_log_commit_seconds",
                        "Time of one group commit of the event log: its write and fdatasync.",
                        {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  cqrs::EmbeddedStoreOptions store_options{LogDir(options_.data_dir)};
  store_options.on_commit = [this](double seconds) { metrics_.Observe("adsd_log_commit_seconds", std::span(&seconds, 1)); };
  ASSIGN_OR_RETURN(store_, cqrs::OpenEmbeddedEventStore(store_options));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenReadSide() {
  metrics_.AddHistogram("adsd_read_model_lag_seconds",
                        "Time from an event's append to its commit in the read model (write-to-read lag).",
                        {0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25,
                         0.5, 1, 2.5, 5});
  if (IsPostgresUrl(options_.read_db_url)) return OpenPostgresReadModel();
  const fs::path path = SqliteReadModelPath();
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return cqrs::ErrnoError("create " + path.parent_path().string(), ec.value());
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(path));
  RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=0"));  // see cqrs/sql/checkpointer.h
  checkpointer_ = std::make_unique<cqrs::sql::Checkpointer>(path, kCheckpointEvery);
  read_models_.push_back(std::make_unique<ads::AdsReadModel>());
  auto first_runner = std::make_shared<cqrs::projection::ProjectionRunner>(*store_, std::move(db),
                                                                           *read_models_.back(), LiveRunnerOptions());
  RETURN_IF_ERROR(first_runner->Start());
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>(std::move(first_runner)));
  auto queries = std::make_unique<ads::SqliteAdQueries>(path);
  sqlite_queries_ = queries.get();
  queries_ = std::move(queries);
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenPostgresReadModel() {
  pg_read_model_ = std::make_unique<ads::AdsPgReadModel>();
  cqrs::projection::PgRunnerOptions o;
  o.url = options_.read_db_url;
  o.on_committed = [this](std::span<const cqrs::RecordedEvent> events) { ObserveReadModelLag(events); };
  ASSIGN_OR_RETURN(auto runner, cqrs::projection::PgProjectionRunner::Start(*store_, *pg_read_model_, std::move(o)));
  pg_runner_ = runner.get();
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>(std::move(runner)));
  // Queries run on the HTTP threads: one connection each stays open.
  queries_ = std::make_unique<ads::PgAdQueries>(options_.read_db_url, std::max(4, options_.http.threads));
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
  if (options_.pipeline == Pipeline::kSync) wo.grace = std::chrono::milliseconds(250);
  if (options_.pipeline == Pipeline::kAsync && serves_reads()) {
    wo.await_stored = [this](cqrs::Position p) {
      runner()->WaitFor(p, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    };
  }
  ASSIGN_OR_RETURN(offsets_, cqrs::log::ConsumerOffsets::Open(OffsetsDir(options_.data_dir)));
  worker_ = std::make_unique<ads::ValidationWorker>(*store_, *offsets_, *rules_, external_.get(), std::move(wo));
  if (options_.bus_url.empty()) return worker_->Start();
  // On the Kafka bus: this process is one member of the validators' consumer group.
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, cqrs::kafka::ParseBusUrl(options_.bus_url));
  cqrs::kafka::ConsumerOptions co;
  co.bus = bus;
  // One group per topic: deployments (or tests) sharing a cluster must not rebalance each other.
  co.group = "adsd-" + std::string(ads::ValidationWorker::kGroup) + "." + bus.topic;
  co.lanes = options_.consumers;
  ASSIGN_OR_RETURN(bus_consumer_, cqrs::kafka::BusConsumer::Start(
                                      co, [this](const cqrs::RecordedEvent& e) { return worker_->Consume(e); }));
  return cqrs::Status::Ok();
}

cqrs::Status AdService::OpenBusRelay() {
  ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus, cqrs::kafka::ParseBusUrl(options_.bus_url));
  cqrs::kafka::RelayOptions ro;
  ro.bus = bus;
  ro.postgres_url = options_.store_url;
  ro.name = "bus-relay:" + bus.topic;
  ro.before_publish = [] {
    if (Failpoint("before-bus-publish")) std::_Exit(3);
  };
  ASSIGN_OR_RETURN(bus_relay_, cqrs::kafka::BusRelay::Start(*store_, std::move(ro)));
  return cqrs::Status::Ok();
}

void AdService::AddGauges() {
  metrics_.AddGauge("adsd_log_head_position", "Last durable position of the event log.", [this] {
    return std::vector<http::Metrics::Sample>{{{}, static_cast<double>(store_->Head().value())}};
  });
  // Consumers of the global order in this process, by name, and their positions.
  auto consumers = [this] {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    if (auto r = runner()) out.emplace_back("projection:ads", r->position().value());
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
  if (pg_runner_) {
    metrics_.AddGauge("adsd_projection_leader",
                      "1 if this process applies the read model shared in PostgreSQL, 0 if it follows another.",
                      [this] {
                        const auto* r = pg_runner_;
                        return std::vector<http::Metrics::Sample>{{{}, r != nullptr && r->leader() ? 1.0 : 0.0}};
                      });
  }
  if (bus_consumer_) {
    metrics_.AddGauge("adsd_bus_assigned_partitions", "Bus partitions this worker owns in its consumer group.", [this] {
      return std::vector<http::Metrics::Sample>{{{}, static_cast<double>(bus_consumer_->assigned_partitions())}};
    });
  }
}

std::string AdService::Readiness(bool& ready) const {
  // Ready when the store answers and this role's consumers are healthy and within a bound of the head.
  constexpr std::uint64_t kMaxLag = 10'000;
  static constexpr const char* kRoles[] = {"all", "write", "read", "worker"};
  const std::uint64_t head = store_->Head().value();
  const cqrs::Status store = store_->Health();
  ready = store.ok();
  std::string out = "{\"role\":\"" + std::string(kRoles[static_cast<int>(options_.role)]) +
                    "\",\"store\":" + (store.ok() ? "\"ok\"" : "\"unavailable\"") +
                    ",\"log_head\":" + std::to_string(head);
  if (auto r = runner()) {
    const std::uint64_t projected = r->position().value();
    ready = ready && r->status().ok() && head - std::min(head, projected) <= kMaxLag;
    out += ",\"projection_position\":" + std::to_string(projected);
    if (pg_runner_) out += ",\"projection_leader\":" + std::string(pg_runner_->leader() ? "true" : "false");
  }
  if (worker_ && !bus_consumer_) {
    const std::uint64_t decided = worker_->position().value();
    ready = ready && worker_->status().ok() && head - std::min(head, decided) <= kMaxLag;
    out += ",\"validator_position\":" + std::to_string(decided);
  }
  if (bus_consumer_) {
    const cqrs::Status st = bus_consumer_->status();
    ready = ready && st.ok();
    out += ",\"bus_partitions\":" + std::to_string(bus_consumer_->assigned_partitions()) +
           ",\"bus_consumer\":" + (st.ok() ? "\"ok\"" : "\"unavailable\"");
  }
  if (bus_relay_) {
    out += ",\"bus_relay\":{\"status\":" + std::string(bus_relay_->status().ok() ? "\"ok\"" : "\"retrying\"") +
           ",\"leader\":" + std::string(bus_relay_->leader() ? "true" : "false") +
           ",\"published\":" + std::to_string(bus_relay_->published().value()) + "}";
  }
  return out + ",\"ready\":" + (ready ? "true" : "false") + "}";
}

void AdService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (server_) server_->Stop();  // in-flight requests finish first
  pool_.reset();
  checkpointer_.reset();
  relay_.reset();
  if (worker_) worker_->RequestStop();  // in-flight bus events give up their waits
  bus_consumer_.reset();                 // commits what is done, leaves the group
  bus_relay_.reset();
  worker_.reset();
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>());
  pg_runner_ = nullptr;
  store_.reset();
}

AdService::~AdService() { Stop(); }

void AdService::AddRoutes() {
  if (serves_writes()) AddWriteRoutes();
  if (serves_reads()) AddReadRoutes();
  router_.Add("GET", "/healthz", [](http::Request&, http::Responder respond) {
    respond(http::Response::Json(200, R"({"status":"ok"})"));
  });
  router_.Add("GET", "/readyz", [this](http::Request&, http::Responder respond) {
    bool ready = false;
    std::string body = Readiness(ready);
    respond(http::Response::Json(ready ? 200 : 503, std::move(body)));
  });
  if (!serves_reads()) {
    router_.Add("GET", "/metrics", [this](http::Request&, http::Responder respond) {
      respond(http::Response{200, "text/plain; version=0.0.4", metrics_.Exposition(), {}});
    });
    return;
  }
  // Parked streams: ads whose events the read model could not apply (see cqrs/projection).
  router_.Add("GET", "/v1/admin/parked", [this](http::Request& req, http::Responder respond) {
    if (!Authorize(*this, req, respond, /*admin_only=*/true)) return;
    auto parked = runner()->ListParked();
    if (!parked.ok()) return respond(http::Problem(503, "unavailable", "Read model unavailable", parked.status().ToString()));
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("parked");
    w.StartArray();
    for (const auto& p : *parked) {
      w.StartObject();
      w.Key("stream");
      w.String(p.stream.c_str());
      w.Key("first_position");
      w.Uint64(p.first_position.value());
      w.Key("events");
      w.Int64(p.events);
      w.Key("error");
      w.String(p.error.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    respond(http::Response::Json(200, std::string(buf.GetString(), buf.GetSize())));
  });
  router_.Add(
      "POST", "/v1/admin/parked/{stream}/replay",
      [this](http::Request& req, http::Responder respond) {
        if (!Authorize(*this, req, respond, /*admin_only=*/true)) return;
        cqrs::Status st = runner()->ReplayParked(req.params["stream"]);
        if (st.code() == cqrs::StatusCode::kNotFound) {
          return respond(http::Problem(404, "not-parked", "Not parked", st.message()));
        }
        if (st.code() == cqrs::StatusCode::kUnavailable) {
          // A shared read model: another process applies it, or the database is away.
          return respond(http::Problem(503, "unavailable", "Read model writer unavailable here", st.message()));
        }
        if (!st.ok()) return respond(http::Problem(409, "still-failing", "Replay failed", st.ToString()));
        respond(http::Response::Json(200, R"({"replayed":true})"));
      },
      http::RouteOptions{.body_content_type = ""});
  router_.Add(
      "POST", "/v1/admin/rebuild",
      [this](http::Request& req, http::Responder respond) {
        if (!Authorize(*this, req, respond, /*admin_only=*/true)) return;
        pool_->Submit(respond, [this, respond] {
          auto r = RebuildReadModel();
          if (r.status().code() == cqrs::StatusCode::kUnavailable) {
            return respond(http::Problem(503, "unavailable", "Read model writer unavailable here", r.status().message()));
          }
          if (!r.ok()) return respond(http::Problem(500, "rebuild-failed", "Rebuild failed", r.status().ToString()));
          respond(http::Response::Json(200, "{\"rebuilt\":\"ads\",\"events\":" + std::to_string(r->events) +
                                                ",\"seconds\":" + std::to_string(r->seconds) + "}"));
        });
      },
      http::RouteOptions{.body_content_type = ""});
  router_.Add("GET", "/metrics", [this](http::Request&, http::Responder respond) {
    respond(http::Response{200, "text/plain; version=0.0.4", metrics_.Exposition(), {}});
  });
}

cqrs::projection::RunnerOptions AdService::LiveRunnerOptions() {
  cqrs::projection::RunnerOptions o;
  o.min_commit_interval = std::chrono::milliseconds(2);
  o.on_committed = [this](std::span<const cqrs::RecordedEvent> events) { ObserveReadModelLag(events); };
  return o;
}

void AdService::ObserveReadModelLag(std::span<const cqrs::RecordedEvent> events) {
  const std::int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<double> lag;
  lag.reserve(events.size());
  for (const auto& e : events) lag.push_back(static_cast<double>(now_us - e.timestamp_us) / 1e6);
  metrics_.Observe("adsd_read_model_lag_seconds", lag);
}

cqrs::Result<AdService::RebuildResult> AdService::RebuildReadModel() {
  std::lock_guard lock(rebuild_mu_);
  if (!pg_runner_) return RebuildSqliteReadModel();
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::uint64_t events, pg_runner_->Rebuild());
  return RebuildResult{events, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
}

cqrs::Result<AdService::RebuildResult> AdService::RebuildSqliteReadModel() {
  const auto started = std::chrono::steady_clock::now();
  const fs::path live = SqliteReadModelPath();
  const fs::path fresh = live.string() + ".rebuild";
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(fresh.string() + suffix, ec);
  read_models_.push_back(std::make_unique<ads::AdsReadModel>());
  ads::AdsReadModel& model = *read_models_.back();
  std::uint64_t events = 0;
  {
    ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(fresh));
    // A bulk load into a file nobody reads yet: no journal, no fsync. A crash leaves a partial
    // file that the next rebuild deletes; the file is made durable below before it replaces the
    // live one.
    RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"));
    cqrs::projection::RunnerOptions bulk;
    bulk.max_batch = 16384;
    bulk.bulk_load = true;
    cqrs::projection::ProjectionRunner rebuild(*store_, std::move(db), model, bulk);
    // Catch up while the live read model keeps serving, then index what was loaded ...
    for (int round = 0; round < 100 && store_->Head().value() - rebuild.position().value() > 1000; ++round) {
      RETURN_IF_ERROR(rebuild.CatchUp(store_->Head()));
    }
    RETURN_IF_ERROR(rebuild.FinishBulkLoad());
    // ... then stop the live one and take the last few events with nothing writing the old file.
    std::shared_ptr<cqrs::projection::Runner> old = runner();
    old->Stop();
    RETURN_IF_ERROR(rebuild.CatchUp(store_->Head()));
    events = rebuild.position().value();
  }
  {
    ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(fresh));  // back to WAL, as the live file
    RETURN_IF_ERROR(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  {
    const int fd = ::open(fresh.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cqrs::ErrnoError("open " + fresh.string(), errno);
    cqrs::Status synced = cqrs::log::SyncData(fd, fresh);
    ::close(fd);
    RETURN_IF_ERROR(synced);
  }
  checkpointer_.reset();  // its connection belongs to the old file
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(live.string() + suffix, ec);
  fs::rename(fresh, live, ec);
  if (ec) return cqrs::ErrnoError("rename " + fresh.string(), ec.value());
  RETURN_IF_ERROR(cqrs::log::SyncDir(live.parent_path()));
  sqlite_queries_->Reopen();
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(live));
  RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=0"));
  checkpointer_ = std::make_unique<cqrs::sql::Checkpointer>(live, kCheckpointEvery);
  auto next = std::make_shared<cqrs::projection::ProjectionRunner>(*store_, std::move(db), model, LiveRunnerOptions());
  RETURN_IF_ERROR(next->Start());
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>(std::move(next)));
  return RebuildResult{events, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
}

bool Failpoint(std::string_view point) {
  static const char* configured = std::getenv("ADSD_FAILPOINT");
  return configured != nullptr && point == configured;
}

std::optional<http::Principal> Authorize(const AdService& service, const http::Request& req,
                                         const http::Responder& respond, bool admin_only) {
  auto p = service.keys().Authenticate(req);
  if (!p) {
    respond(http::Unauthorized());
    return std::nullopt;
  }
  if (admin_only && !p->admin) {
    respond(http::Problem(403, "forbidden", "Forbidden", "this route needs an admin token"));
    return std::nullopt;
  }
  return p;
}

}  // namespace adsd::app
