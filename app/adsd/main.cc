// adsd: the ad-management service.
//
//   adsd [--data-dir DIR] [--listen HOST:PORT] [--api-keys FILE] [--pipeline async|store-then-publish|sync]
//        [--rules FILE] [--threads N] [--validator-url URL] [--validator-timeout-ms MS]
//        [--consumers N] [--blocking-threads N] [--paper-model FILE [--latency-scale X]]
//        [--role all|write|read|worker] [--store postgresql://...] [--bus kafka://HOST:PORT[?partitions=N]]
//        [--read-db postgresql://...|sqlite:PATH] [--max-connections N] [--tls-cert PEM --tls-key PEM]
//
// Every option is in command_line.cc (`adsd --help`).
#include <fmt/core.h>
#include <signal.h>

#include <cstdio>

#include "app/adsd/command_line.h"
#include "app/adsd/service.h"

namespace {

// The line that says where the service listens, and the development keys it created, if any.
void PrintStarted(const adsd::app::CommandLine& cl, const adsd::app::AdService& service) {
  const adsd::app::ServiceOptions& options = cl.options;
  const bool v6 = options.http.host.find(':') != std::string::npos;
  fmt::print("adsd listening on {}://{}{}{}:{} (role {}, pipeline {}, data {}, store {}, bus {})\n",
             options.http.tls_cert.empty() ? "http" : "https", v6 ? "[" : "", options.http.host, v6 ? "]" : "",
             service.port(), cl.role_name, cl.pipeline_name, options.data_dir.string(),
             options.store_url.empty() ? "embedded" : "postgresql",
             options.bus_url.empty() ? "the store" : options.bus_url);
  if (const std::string& note = service.keys().migration_note(); !note.empty()) {
    fmt::print(stderr, "adsd: {}\n", note);
  }
  if (service.created_keys()) {
    fmt::print("created development API keys in {}/api-keys.toml (it keeps only their hashes: note the tokens now):\n",
               options.data_dir.string());
    for (const auto& k : service.keys().keys()) {
      fmt::print("  {:8} {}\n", k.principal.admin ? "admin" : k.principal.retailer, k.token);
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const adsd::app::CommandLine cl = adsd::app::ParseCommandLine(argc, argv);
  if (cl.exit_code) return *cl.exit_code;

  // Signals are taken synchronously by this thread (sigwait), not by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto service = adsd::app::AdService::Start(cl.options);
  if (!service.ok()) {
    fmt::print(stderr, "adsd: {}\n", service.status().ToString());
    return 1;
  }
  PrintStarted(cl, **service);
  int sig = 0;
  sigwait(&signals, &sig);
  fmt::print("adsd: {} received, finishing in-flight requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*service)->Stop();
  fmt::print("adsd: stopped\n");
  return 0;
}
