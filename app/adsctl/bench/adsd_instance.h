// AdsdInstance: a real adsd process in its own data directory, on a free port, for a benchmark.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/adsctl/bench/child_process.h"
#include "http/client.h"

namespace adsd::bench {

inline constexpr const char* kBenchToken = "bench-retailer-token-0123456789";
inline constexpr const char* kBenchAdminToken = "bench-admin-token-0123456789";

// The positions /readyz reports.
struct Positions {
  std::uint64_t log_head = 0, projection = 0, validator = 0;
};

class AdsdInstance {
 public:
  // Starts `adsd` with `args` (beyond --data-dir, --listen, --api-keys) in `data_dir`, which it
  // empties first.
  static cqrs::Result<std::unique_ptr<AdsdInstance>> Start(const std::string& adsd,
                                                           const std::filesystem::path& data_dir,
                                                           const std::vector<std::string>& args);

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  pid_t pid() const { return process_.pid(); }

  cqrs::Result<Positions> Ready();
  // Waits until the read model (and, with `validator`, the validation consumer) has caught up
  // with the log head as it is now.
  cqrs::Status WaitCaughtUp(bool validator, std::chrono::milliseconds within);
  // Waits until the read model holds every ad this instance acknowledged (POST /v1/ads answered
  // 2xx, from its metrics) and, with `decided`, their verdicts too. Unlike WaitCaughtUp it needs
  // no log positions: it serves the optimized pipeline on Kafka, whose acknowledged ads reach the
  // store after the answer.
  cqrs::Status WaitForAcknowledgedAds(bool decided, std::chrono::milliseconds within);
  // The /metrics exposition, parsed: "name{labels}" -> value.
  cqrs::Result<std::map<std::string, double>> Metrics();
  // A GET or POST with the bench retailer's (or admin's) token.
  cqrs::Result<http::Response> Call(std::string_view method, const std::string& target, const std::string& body = "",
                                    bool admin = false);
  // SIGTERM: finishes in-flight requests and stops.
  void Stop();

 private:
  AdsdInstance(ChildProcess p, std::filesystem::path dir, std::uint16_t port);
  ChildProcess process_;
  std::filesystem::path data_dir_;
  std::uint16_t port_;
  std::unique_ptr<http::HttpClient> client_;
};

// An ad of the usual size; `i` makes titles differ.
std::string SampleAd(std::uint64_t i);

}  // namespace adsd::bench
