// `adsctl bench capacity`: what the real service does on this machine, without injected latency,
// beside nginx serving same-sized answers in the same run (this machine's HTTP ceiling).
//
// Load comes from outside the process: wrk (closed loop, scripts in bench/wrk) for rates and
// latencies at 25 and 64 connections, wrk paced to half the top write rate for the write-to-read
// lag, and the in-repo open-loop generator (fixed arrival rate, latency from when each request
// was due) when the consumers cannot keep up at full speed and the sustained rate must be found
// below it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::bench {

struct CapacityOptions {
  std::string adsd, wrk = "wrk", nginx = "nginx";
  std::filesystem::path scripts = "bench/wrk";
  std::filesystem::path work_dir;
  std::filesystem::path json;
  std::vector<int> connections = {25, 64};
  double seconds = 8;    // per wrk run
  int http_threads = 0;  // adsd --threads and nginx workers; 0: one per core
  int consumers = 2;     // adsd --consumers
};

cqrs::Status RunCapacityBench(const CapacityOptions& options);

}  // namespace adsd::bench
