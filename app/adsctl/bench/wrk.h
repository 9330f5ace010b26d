// Wrk: runs the wrk load generator (closed loop, from outside the process under test) with one
// of the scripts in bench/wrk, and reads the line its done() prints.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "cqrs/core/status.h"

namespace adsd::bench {

struct WrkResult {
  int connections = 0;
  double requests = 0, seconds = 0;
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double errors = 0;                    // connect, read, write, timeouts and non-2xx/3xx answers
  std::int64_t from_us = 0, to_us = 0;  // wall clock
  double rate() const { return seconds > 0 ? requests / seconds : 0; }
};

struct WrkOptions {
  std::string wrk = "wrk";
  std::filesystem::path scripts = "bench/wrk";
  std::filesystem::path work_dir;  // its output goes here
  int threads = 2;
};

// Runs `script` against `url` with `connections` for `seconds`. `env`: extra environment
// (ADSD_TOKEN, ADSD_IDS_FILE).
cqrs::Result<WrkResult> RunWrk(const WrkOptions& o, const std::string& url, const std::string& script, int connections,
                               double seconds, const std::map<std::string, std::string>& env = {});

}  // namespace adsd::bench
