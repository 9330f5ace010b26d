// `adsctl bench paper`: the case study's Tables 1-3 reproduced with the real service.
//
// For each pipeline (sync, cqrs, async) a real adsd runs with the paper's step latencies injected
// (--paper-model, divided by --scale) and 25 closed-loop clients submit ads over HTTP. Request
// times are rescaled to the paper's milliseconds and turned into requests per day with its
// capacity model. Then what the paper leaves out: with one consumer the backlog of undecided
// ads grows; the run measures the consumers' rate, computes how many concurrent consumers keep
// the backlog flat, and runs again with that many to show it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::bench {

struct PaperOptions {
  std::string adsd;                // the adsd binary
  std::filesystem::path model;     // paper-model.json
  std::filesystem::path work_dir;  // data directories of the runs (emptied)
  std::filesystem::path json;      // results; empty: none
  // The distributed shape: a PostgreSQL server (a URL whose database may create databases: each
  // run gets a fresh one) and a Kafka bus (kafka://HOST:PORT; each run gets a fresh topic).
  // Empty: the embedded log.
  std::string store_url;
  std::string bus_url;
  std::vector<std::string> pipelines = {"sync", "cqrs", "async"};  // sync first: the others compare to it
  double scale = 20;
  int clients = 25;
  std::chrono::milliseconds warmup{2000};
  std::chrono::milliseconds duration{15000};
};

cqrs::Status RunPaperBench(const PaperOptions& options);

}  // namespace adsd::bench
