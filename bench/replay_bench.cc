// BM_Replay: reading every event from position 1 of a prebuilt 1M-event log.
//   /0 through the log's zero-copy Scan visitor (what a projection rebuild can use);
//   /1 through EventStore::ReadAll, which materializes every RecordedEvent (strings copied).
// BM_Open: opening a prebuilt store of N events: checks every record and rebuilds the stream
// index. Warm page cache. 10M only with ADSD_BENCH_LARGE=1 (it builds ~4 GB once).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>

#include "bench/bench_data.h"
#include "cqrs/log/log.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::bench {
namespace {

constexpr std::uint64_t kReplayEvents = 1'000'000;

void BM_Replay(benchmark::State& state) {
  const auto dir = PrebuiltLog(kReplayEvents);
  const bool materialize = state.range(0) == 1;
  std::uint64_t total = 0;
  if (materialize) {
    auto store = cqrs::OpenEmbeddedEventStore({dir});
    if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
    for (auto _ : state) {
      cqrs::Position p(1);
      while (true) {
        auto batch = (*store)->ReadAll(p, 4096);
        if (!batch.ok() || batch->empty()) break;
        total += batch->size();
        p = batch->back().position.next();
      }
    }
  } else {
    cqrs::log::LogOptions options;
    options.dir = dir;
    auto log = cqrs::log::Log::Open(options);
    if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
    for (auto _ : state) {
      std::uint64_t bytes = 0;
      (void)(*log)->Scan(cqrs::Position(1), ~std::size_t{0}, [&](const cqrs::log::RecordView& v) {
        bytes += v.payload.size();
        ++total;
        return true;
      });
      benchmark::DoNotOptimize(bytes);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.SetLabel(materialize ? "ReadAll (RecordedEvent)" : "Scan (zero-copy views)");
}
BENCHMARK(BM_Replay)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Open(benchmark::State& state) {
  const auto events = static_cast<std::uint64_t>(state.range(0));
  if (events > 1'000'000 && std::getenv("ADSD_BENCH_LARGE") == nullptr) {
    return state.SkipWithError("set ADSD_BENCH_LARGE=1 to build and open a 10M-event log");
  }
  const auto dir = PrebuiltLog(events);
  for (auto _ : state) {
    auto store = cqrs::OpenEmbeddedEventStore({dir});
    if (!store.ok()) return state.SkipWithError(store.status().ToString().c_str());
    benchmark::DoNotOptimize((*store)->Head());
    state.PauseTiming();
    store = cqrs::Status(cqrs::StatusCode::kUnavailable, "closed");  // closing is not timed
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events * state.iterations()));
}
BENCHMARK(BM_Open)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace adsd::bench

BENCHMARK_MAIN();
