#include "app/adsctl/bench/wrk.h"

#include <fmt/core.h>
#include <simdjson.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>

#include "app/adsctl/bench/child_process.h"
#include "cqrs/core/types.h"

namespace adsd::bench {

using cqrs::NowUs;

cqrs::Result<WrkResult> RunWrk(const WrkOptions& o, const std::string& url, const std::string& script, int connections,
                               double seconds, const std::map<std::string, std::string>& env) {
  // The child inherits the environment: the script reads its settings from there.
  setenv("ADSD_WRK_DIR", o.scripts.c_str(), 1);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  // Start from a quiet disk: the previous runs' dirty pages would otherwise be written back
  // during this one and show up as its fsync stalls.
  ::sync();
  static int runs = 0;
  const auto output = o.work_dir / fmt::format("wrk-{}.out", ++runs);
  WrkResult r;
  r.connections = connections;
  r.from_us = NowUs();
  ASSIGN_OR_RETURN(ChildProcess wrk,
                   ChildProcess::Start({o.wrk, "-t" + std::to_string(std::min(o.threads, connections)),
                                        "-c" + std::to_string(connections), "-d" + fmt::format("{:.0f}s", seconds),
                                        "--timeout", "30s", "-s", (o.scripts / script).string(), url},
                                       output));
  auto status = wrk.Wait(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000) + 60'000));
  r.to_us = NowUs();
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return cqrs::Internal("wrk failed: " + wrk.Output());
  }
  const std::string out = wrk.Output();
  const auto at = out.find("WRK_JSON ");
  if (at == std::string::npos) return cqrs::Internal("wrk printed no WRK_JSON line: " + out);
  const std::string line = out.substr(at + 9, out.find('\n', at) - at - 9);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc)) return cqrs::Internal("bad WRK_JSON line: " + line);
  auto num = [&](const char* key) {
    double v = 0;
    if (doc[key].get(v)) {
      std::int64_t i = 0;
      if (!doc[key].get(i)) v = static_cast<double>(i);
    }
    return v;
  };
  r.requests = num("requests");
  r.seconds = num("seconds");
  r.mean_ms = num("mean_ms");
  r.p50_ms = num("p50_ms");
  r.p99_ms = num("p99_ms");
  r.p999_ms = num("p999_ms");
  r.max_ms = num("max_ms");
  for (const char* k : {"connect", "read", "write", "status", "timeout"}) {
    std::int64_t n = 0;
    if (!doc["errors"][k].get(n)) r.errors += static_cast<double>(n);
  }
  return r;
}

}  // namespace adsd::bench
