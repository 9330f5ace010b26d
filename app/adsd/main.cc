// adsd: the ad-management service.
//
//   adsd [--data-dir DIR] [--listen HOST:PORT] [--api-keys FILE] [--pipeline async|cqrs|sync]
//        [--rules FILE] [--threads N] [--validator-url URL] [--validator-timeout-ms MS]
//        [--consumers N] [--blocking-threads N] [--paper-model FILE [--latency-scale X]]
//        [--role all|write|read|worker] [--store postgresql://...] [--bus kafka://HOST:PORT[?partitions=N]]
//        [--read-db postgresql://...|sqlite:PATH] [--max-connections N] [--tls-cert PEM --tls-key PEM]
#include <fmt/core.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/adsd/service.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"adsd: the ad-management service (CQRS and event sourcing)"};
  adsd::app::ServiceOptions options;
  std::string data_dir = "./data", listen = "127.0.0.1:8080", api_keys, rules, pipeline = "async";
  int threads = 2;
  std::string validator_url;
  int validator_timeout_ms = 2000;
  int validator_breaker_open_ms = 5000;
  app.add_option("--data-dir", data_dir, "data directory (event log, read models, keys)")->capture_default_str();
  app.add_option("--listen", listen, "IP:PORT to serve HTTP on (127.0.0.1:8080, [::1]:8080); port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--api-keys", api_keys, "TOML API-key file (default: DATA_DIR/api-keys.toml, created if missing)");
  app.add_option("--pipeline", pipeline, "write pipeline")
      ->check(CLI::IsMember({"async", "cqrs", "sync"}))
      ->capture_default_str();
  app.add_option("--rules", rules, "TOML rules file (default: the shipped rules)");
  app.add_option("--threads", threads, "HTTP I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--validator-url", validator_url,
                 "external validation API, e.g. http://127.0.0.1:9090/v1/validate (default: off)");
  app.add_option("--validator-timeout-ms", validator_timeout_ms, "timeout of one validator call")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  app.add_option("--validator-breaker-open-ms", validator_breaker_open_ms,
                 "after 5 failed calls in a row, stop calling the validator for this long")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  int consumers = 1, blocking_threads = 32;
  std::string paper_model;
  double latency_scale = 20;
  app.add_option("--consumers", consumers, "ads the validation consumer judges at once (ordered per ad)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--blocking-threads", blocking_threads, "threads for request steps that wait (sync, cqrs)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--paper-model", paper_model,
                 "benchmarking only: inject the step latencies of this paper-model.json into the pipelines")
      ->check(CLI::ExistingFile);
  app.add_option("--latency-scale", latency_scale, "divide the injected latencies by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::string role = "all", store_url, bus_url, read_db_url;
  app.add_option("--role", role, "which side of the service this process runs")
      ->check(CLI::IsMember({"all", "write", "read", "worker"}))
      ->capture_default_str();
  app.add_option("--store", store_url,
                 "event store: empty for the embedded log in DATA_DIR, or postgresql://USER@HOST:PORT/DB");
  app.add_option("--bus", bus_url,
                 "event bus: empty for consumers that follow the store, or kafka://HOST:PORT[?partitions=N&topic=T]");
  app.add_option("--read-db", read_db_url,
                 "read model: empty for DATA_DIR/read.db (SQLite, this process's own), sqlite:PATH for SQLite "
                 "elsewhere, or postgresql://USER@HOST:PORT/DB (shared by the read processes)");
  bool repair_ahead = false;
  app.add_flag("--repair-ahead", repair_ahead,
               "if consumers are past the event log's head (log recovery cut records) or ahead of a PostgreSQL store "
               "that went back in time (a restore): rebuild the read model, reset the validator offset, and on "
               "Kafka move to a new topic generation");
  int max_connections = options.http.max_connections;
  std::string tls_cert, tls_key;
  app.add_option("--max-connections", max_connections,
                 "open HTTP connections at once; more are answered 503 and closed (keep it under ulimit -n)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS only (TLS 1.2+); needs --tls-key")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  // Webhooks and the live stream (docs/api.md).
  int webhook_connect_ms = 3000, webhook_response_ms = 10000, webhook_backoff_ms = 1000,
      webhook_backoff_max_ms = 600'000, stream_heartbeat_ms = 15'000;
  app.add_flag("--webhooks-allow-private", options.notify.webhooks_allow_private,
               "let webhook endpoints be on loopback, private or link-local addresses, and plain http "
               "(development and tests only)");
  // The durations, in milliseconds: name, variable, help, least and most.
  struct Millis {
    const char* name;
    int* ms;
    const char* help;
    int least, most;
  };
  for (const Millis& m :
       {Millis{"--webhook-connect-timeout-ms", &webhook_connect_ms, "resolve and connect to a webhook endpoint", 1,
               60'000},
        Millis{"--webhook-response-timeout-ms", &webhook_response_ms, "a webhook endpoint's whole answer", 1, 120'000},
        Millis{"--webhook-backoff-ms", &webhook_backoff_ms, "pause before a webhook delivery's first retry (doubling)",
               1, 3'600'000},
        Millis{"--webhook-backoff-max-ms", &webhook_backoff_max_ms, "longest pause between webhook retries", 1,
               86'400'000},
        Millis{"--stream-heartbeat-ms", &stream_heartbeat_ms, "heartbeat of the live stream (GET /v1/ads/stream)", 10,
               600'000}}) {
    app.add_option(m.name, *m.ms, m.help)->check(CLI::Range(m.least, m.most))->capture_default_str();
  }
  app.add_option("--webhook-max-attempts", options.notify.webhook_max_attempts,
                 "attempts of one webhook delivery before it is parked")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--webhook-ca-file", options.notify.webhook_ca_file,
                 "PEM certificate authorities to trust for https webhook endpoints (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--streams-per-retailer", options.notify.streams_per_retailer,
                 "live streams one retailer may have open at once")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  // A usage error exits 2 like every other refused option (CLI11_PARSE would exit 105, 109, ...).
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  options.notify.webhook_connect_timeout = std::chrono::milliseconds(webhook_connect_ms);
  options.notify.webhook_response_timeout = std::chrono::milliseconds(webhook_response_ms);
  options.notify.webhook_backoff = std::chrono::milliseconds(webhook_backoff_ms);
  options.notify.webhook_backoff_max = std::chrono::milliseconds(webhook_backoff_max_ms);
  options.notify.stream_heartbeat = std::chrono::milliseconds(stream_heartbeat_ms);
  if (repair_ahead) options.consumers_ahead = adsd::app::AheadPolicy::kRepair;
  if (tls_cert.empty() != tls_key.empty()) {
    fmt::print(stderr, "adsd: --tls-cert and --tls-key go together\n");
    return 2;
  }
  options.http.max_connections = max_connections;
  options.http.tls_cert = tls_cert;
  options.http.tls_key = tls_key;
  options.role = role == "write"    ? adsd::app::Role::kWrite
                 : role == "read"   ? adsd::app::Role::kRead
                 : role == "worker" ? adsd::app::Role::kWorker
                                    : adsd::app::Role::kAll;
  options.store_url = store_url;
  options.bus_url = bus_url;
  options.read_db_url = read_db_url;

  options.consumers = consumers;
  options.blocking_threads = blocking_threads;
  if (!paper_model.empty()) {
    std::ifstream in(paper_model);
    std::stringstream text;
    text << in.rdbuf();
    auto model = adsd::ads::LatencyModel::FromPaperModel(text.str(), latency_scale);
    if (!model.ok()) {
      fmt::print(stderr, "adsd: --paper-model {}: {}\n", paper_model, model.status().ToString());
      return 2;
    }
    options.latency = std::move(*model);
  }

  options.data_dir = data_dir;
  options.api_keys = api_keys;
  options.rules = rules;
  options.http.threads = threads;
  options.validator_url = validator_url;
  options.validator_timeout = std::chrono::milliseconds(validator_timeout_ms);
  options.validator_breaker_open = std::chrono::milliseconds(validator_breaker_open_ms);
  if (!ParseListen(listen, options.http.host, options.http.port)) {
    fmt::print(stderr, "adsd: --listen must be IP:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080), got '{}'\n",
               listen);
    return 2;
  }
  options.pipeline = pipeline == "sync"   ? adsd::app::Pipeline::kSynchronous
                     : pipeline == "cqrs" ? adsd::app::Pipeline::kStoreThenPublish
                                          : adsd::app::Pipeline::kPublishFirst;

  // Signals are taken synchronously by this thread (sigwait), not by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto service = adsd::app::AdService::Start(options);
  if (!service.ok()) {
    fmt::print(stderr, "adsd: {}\n", service.status().ToString());
    return 1;
  }
  const bool v6 = options.http.host.find(':') != std::string::npos;
  fmt::print("adsd listening on {}://{}{}{}:{} (role {}, pipeline {}, data {}, store {}, bus {})\n",
             tls_cert.empty() ? "http" : "https", v6 ? "[" : "", options.http.host, v6 ? "]" : "", (*service)->port(),
             role, pipeline, data_dir, store_url.empty() ? "embedded" : "postgresql",
             bus_url.empty() ? "the store" : bus_url);
  if (const std::string& note = (*service)->keys().migration_note(); !note.empty()) {
    fmt::print(stderr, "adsd: {}\n", note);
  }
  if ((*service)->created_keys()) {
    fmt::print("created development API keys in {}/api-keys.toml (it keeps only their hashes: note the tokens now):\n",
               data_dir);
    for (const auto& k : (*service)->keys().keys()) {
      fmt::print("  {:8} {}\n", k.principal.admin ? "admin" : k.principal.retailer, k.token);
    }
  }
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  fmt::print("adsd: {} received, finishing in-flight requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*service)->Stop();
  fmt::print("adsd: stopped\n");
  return 0;
}
