#include "bench/bench_data.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cqrs/log/log.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::bench {

namespace fs = std::filesystem;

fs::path BenchRoot() {
  const char* env = std::getenv("ADSD_BENCH_DIR");
  return env != nullptr ? fs::path(env) : fs::path("bench-data");
}

fs::path FreshDir(const std::string& name) {
  const fs::path dir = BenchRoot() / ("fresh-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path PrebuiltLog(std::uint64_t events) {
  const fs::path dir = BenchRoot() / ("log-" + std::to_string(events));
  const fs::path done = dir / "complete";
  if (fs::exists(done)) return dir / "log";
  std::fprintf(stderr, "building a log of %llu events in %s (kept for later runs)...\n",
               static_cast<unsigned long long>(events), dir.c_str());
  fs::remove_all(dir);
  {
    // Written with the log's own batch interface: the point is the result, not the speed.
    cqrs::log::LogOptions options;
    options.dir = dir / "log";
    auto log = cqrs::log::Log::Open(options);
    if (!log.ok()) {
      std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
      std::abort();
    }
    constexpr std::uint64_t kStreams = 100'000;
    std::vector<std::string> streams;
    for (std::uint64_t s = 0; s < kStreams; ++s) streams.push_back("ad-" + std::to_string(s));
    const std::string payload(kPayloadBytes, 'p');
    std::vector<cqrs::log::RecordDraft> batch(1000);
    for (std::uint64_t n = 0; n < events; n += batch.size()) {
      const std::size_t count = std::min<std::uint64_t>(batch.size(), events - n);
      for (std::size_t k = 0; k < count; ++k) {
        auto& d = batch[k];
        const std::uint64_t i = n + k;
        d.event_id = cqrs::Uuid::V7();
        d.stream = streams[i % kStreams];
        d.version = cqrs::StreamVersion(i / kStreams + 1);
        d.type = "AdSubmitted";
        d.payload = payload;
      }
      auto r = (*log)->Stage(std::span(batch.data(), count));
      if (!r.ok() || ((n / 1000) % 64 == 63 && !(*log)->AwaitDurable(r->last).ok())) std::abort();
    }
    if (!(*log)->AwaitDurable(cqrs::Position(events)).ok()) std::abort();
  }
  std::FILE* f = std::fopen(done.c_str(), "w");
  if (f != nullptr) std::fclose(f);
  return dir / "log";
}

}  // namespace adsd::bench
