#include "app/adsd/command_line.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <sstream>

namespace adsd::app {

namespace {

// HOST:PORT, HOST an IPv4 or IPv6 address ([::1]:8080, or ::1:8080), PORT digits up to 65535.
// Checked before anything is created: a bad --listen leaves no data directory behind.
bool ParseListen(const std::string& listen, std::string& host, std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const int p = std::stoi(digits);
  if (p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

// What was given, as typed, before it becomes ServiceOptions.
struct Given {
  std::string data_dir = "./data", listen = "127.0.0.1:8080", api_keys, rules, pipeline = "async";
  int threads = 2;
  std::string validator_url;
  int validator_timeout_ms = 2000, validator_breaker_open_ms = 5000;
  int consumers = 1, blocking_threads = 32;
  std::string paper_model;
  double latency_scale = 20;
  std::string role = "all", store_url, bus_url, read_db_url;
  bool repair_ahead = false;
  int max_connections = http::ServerOptions{}.max_connections;
  std::string tls_cert, tls_key;
  int webhook_connect_ms = 3000, webhook_response_ms = 10000, webhook_backoff_ms = 1000,
      webhook_backoff_max_ms = 600'000, stream_heartbeat_ms = 15'000;
};

// Where the service lives and what it runs: data, listening address, keys, pipeline, rules,
// threads, the external validator, the paper benchmark's latencies.
void AddServiceOptions(CLI::App& app, Given& g) {
  app.add_option("--data-dir", g.data_dir, "data directory (event log, read models, keys)")->capture_default_str();
  app.add_option("--listen", g.listen, "IP:PORT to serve HTTP on (127.0.0.1:8080, [::1]:8080); port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--api-keys", g.api_keys, "TOML API-key file (default: DATA_DIR/api-keys.toml, created if missing)");
  app.add_option("--pipeline", g.pipeline,
                 "write pipeline: async (publish first), store-then-publish (cqrs, the paper's name), sync")
      ->check(CLI::IsMember({"async", "store-then-publish", "cqrs", "sync"}))
      ->capture_default_str();
  app.add_option("--rules", g.rules, "TOML rules file (default: the shipped rules)");
  app.add_option("--threads", g.threads, "HTTP I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--validator-url", g.validator_url,
                 "external validation API, e.g. http://127.0.0.1:9090/v1/validate (default: off)");
  app.add_option("--validator-timeout-ms", g.validator_timeout_ms, "timeout of one validator call")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  app.add_option("--validator-breaker-open-ms", g.validator_breaker_open_ms,
                 "after 5 failed calls in a row, stop calling the validator for this long")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--consumers", g.consumers, "ads the validation consumer judges at once (ordered per ad)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--blocking-threads", g.blocking_threads, "threads for request steps that wait (sync, cqrs)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--paper-model", g.paper_model,
                 "benchmarking only: inject the step latencies of this paper-model.json into the pipelines")
      ->check(CLI::ExistingFile);
  app.add_option("--latency-scale", g.latency_scale, "divide the injected latencies by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

// The distributed shape: role, backends, recovery, connections and TLS.
void AddBackendOptions(CLI::App& app, Given& g) {
  app.add_option("--role", g.role, "which side of the service this process runs")
      ->check(CLI::IsMember({"all", "write", "read", "worker"}))
      ->capture_default_str();
  app.add_option("--store", g.store_url,
                 "event store: empty for the embedded log in DATA_DIR, or postgresql://USER@HOST:PORT/DB");
  app.add_option("--bus", g.bus_url,
                 "event bus: empty for consumers that follow the store, or kafka://HOST:PORT[?partitions=N&topic=T]");
  app.add_option("--read-db", g.read_db_url,
                 "read model: empty for DATA_DIR/read.db (SQLite, this process's own), sqlite:PATH for SQLite "
                 "elsewhere, or postgresql://USER@HOST:PORT/DB (shared by the read processes)");
  app.add_flag("--repair-ahead", g.repair_ahead,
               "if consumers are past the event log's head (log recovery cut records) or ahead of a PostgreSQL store "
               "that went back in time (a restore): rebuild the read model, reset the validator offset, and on "
               "Kafka move to a new topic generation");
  app.add_option("--max-connections", g.max_connections,
                 "open HTTP connections at once; more are answered 503 and closed (keep it under ulimit -n)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--tls-cert", g.tls_cert, "PEM certificate chain: serve HTTPS only (TLS 1.2+); needs --tls-key")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", g.tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
}

// Webhooks and the live stream (docs/api.md).
void AddNotifyOptions(CLI::App& app, Given& g, NotifyOptions& notify) {
  app.add_flag("--webhooks-allow-private", notify.webhooks_allow_private,
               "let webhook endpoints be on loopback, private or link-local addresses, and plain http "
               "(development and tests only)");
  // The durations, in milliseconds: name, variable, help, least and most.
  struct Millis {
    const char* name;
    int* ms;
    const char* help;
    int least, most;
  };
  for (const Millis& m : {Millis{"--webhook-connect-timeout-ms", &g.webhook_connect_ms,
                                 "resolve and connect to a webhook endpoint", 1, 60'000},
                          Millis{"--webhook-response-timeout-ms", &g.webhook_response_ms,
                                 "a webhook endpoint's whole answer", 1, 120'000},
                          Millis{"--webhook-backoff-ms", &g.webhook_backoff_ms,
                                 "pause before a webhook delivery's first retry (doubling)", 1, 3'600'000},
                          Millis{"--webhook-backoff-max-ms", &g.webhook_backoff_max_ms,
                                 "longest pause between webhook retries", 1, 86'400'000},
                          Millis{"--stream-heartbeat-ms", &g.stream_heartbeat_ms,
                                 "heartbeat of the live stream (GET /v1/ads/stream)", 10, 600'000}}) {
    app.add_option(m.name, *m.ms, m.help)->check(CLI::Range(m.least, m.most))->capture_default_str();
  }
  app.add_option("--webhook-max-attempts", notify.webhook_max_attempts,
                 "attempts of one webhook delivery before it is parked")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--webhook-ca-file", notify.webhook_ca_file,
                 "PEM certificate authorities to trust for https webhook endpoints (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--streams-per-retailer", notify.streams_per_retailer,
                 "live streams one retailer may have open at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
}

// What was given, into `options`; the usage error (printed as is) when it cannot be.
std::optional<std::string> Apply(const Given& g, ServiceOptions& options) {
  NotifyOptions& notify = options.notify;
  notify.webhook_connect_timeout = std::chrono::milliseconds(g.webhook_connect_ms);
  notify.webhook_response_timeout = std::chrono::milliseconds(g.webhook_response_ms);
  notify.webhook_backoff = std::chrono::milliseconds(g.webhook_backoff_ms);
  notify.webhook_backoff_max = std::chrono::milliseconds(g.webhook_backoff_max_ms);
  notify.stream_heartbeat = std::chrono::milliseconds(g.stream_heartbeat_ms);
  if (g.repair_ahead) options.consumers_ahead = AheadPolicy::kRepair;
  if (g.tls_cert.empty() != g.tls_key.empty()) return "--tls-cert and --tls-key go together";
  options.http.max_connections = g.max_connections;
  options.http.tls_cert = g.tls_cert;
  options.http.tls_key = g.tls_key;
  options.role = g.role == "write"    ? Role::kWrite
                 : g.role == "read"   ? Role::kRead
                 : g.role == "worker" ? Role::kWorker
                                      : Role::kAll;
  options.store_url = g.store_url;
  options.bus_url = g.bus_url;
  options.read_db_url = g.read_db_url;
  options.consumers = g.consumers;
  options.blocking_threads = g.blocking_threads;
  if (!g.paper_model.empty()) {
    std::ifstream in(g.paper_model);
    std::stringstream text;
    text << in.rdbuf();
    auto model = ads::LatencyModel::FromPaperModel(text.str(), g.latency_scale);
    if (!model.ok()) return fmt::format("--paper-model {}: {}", g.paper_model, model.status().ToString());
    options.latency = std::move(*model);
  }
  options.data_dir = g.data_dir;
  options.api_keys = g.api_keys;
  options.rules = g.rules;
  options.http.threads = g.threads;
  options.validator_url = g.validator_url;
  options.validator_timeout = std::chrono::milliseconds(g.validator_timeout_ms);
  options.validator_breaker_open = std::chrono::milliseconds(g.validator_breaker_open_ms);
  if (!ParseListen(g.listen, options.http.host, options.http.port)) {
    return fmt::format("--listen must be IP:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080), got '{}'", g.listen);
  }
  options.pipeline = g.pipeline == "sync"                                         ? Pipeline::kSynchronous
                     : g.pipeline == "cqrs" || g.pipeline == "store-then-publish" ? Pipeline::kStoreThenPublish
                                                                                  : Pipeline::kPublishFirst;
  return std::nullopt;
}

}  // namespace

CommandLine ParseCommandLine(int argc, char** argv) {
  CLI::App app{"adsd: the ad-management service (CQRS and event sourcing)"};
  CommandLine cl;
  Given g;
  AddServiceOptions(app, g);
  AddBackendOptions(app, g);
  AddNotifyOptions(app, g, cl.options.notify);
  // A usage error exits 2 like every other refused option (CLI11_PARSE would exit 105, 109, ...).
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    cl.exit_code = rc == 0 ? 0 : 2;
    return cl;
  }
  if (auto usage = Apply(g, cl.options)) {
    fmt::print(stderr, "adsd: {}\n", *usage);
    cl.exit_code = 2;
    return cl;
  }
  cl.role_name = g.role;
  cl.pipeline_name = g.pipeline;
  return cl;
}

}  // namespace adsd::app
