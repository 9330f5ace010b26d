// BM_DurableAppend: durable single-event appends from N concurrent appenders.
//
// Two kinds of appender, so that the figure for each is honest:
//   mode 0 "threads": N OS threads, each calling the blocking EventStore::Append in a loop;
//   mode 1 "async":   N appends kept in flight with EventStore::AppendAsync, each completion
//                     issuing the next one — how an event-driven server (adsd's HTTP layer)
//                     appends.
// Every append is one 256-byte event with expected version `any` to one of 1000 streams per
// appender, and completes only once durable (fdatasync'ed). Latency is per append.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/bench_data.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::bench {
namespace {

using Clock = std::chrono::steady_clock;

cqrs::EventData MakeEvent(const std::string& payload) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();
  e.type = "AdSubmitted";
  e.payload = payload;
  return e;
}

// Runs `total` appends over `appenders` blocking threads; returns per-append latencies (µs).
std::vector<double> RunThreads(cqrs::EventStore& store, int appenders, int total) {
  std::vector<std::vector<double>> lat(appenders);
  std::vector<std::thread> threads;
  const std::string payload(kPayloadBytes, 'x');
  for (int t = 0; t < appenders; ++t) {
    threads.emplace_back([&, t] {
      const int mine = total / appenders;
      lat[t].reserve(mine);
      for (int i = 0; i < mine; ++i) {
        const std::string stream = "s" + std::to_string(t) + "-" + std::to_string(i % 1000);
        const cqrs::EventData e = MakeEvent(payload);
        const auto t0 = Clock::now();
        if (!store.Append(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1)).ok()) std::abort();
        lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// Keeps `appenders` appends in flight until `total` have completed; returns latencies (µs).
std::vector<double> RunAsync(cqrs::EventStore& store, int appenders, int total) {
  struct Shared {
    cqrs::EventStore* store;
    std::string payload = std::string(kPayloadBytes, 'x');
    std::atomic<int> issued{0};
    std::mutex mu;
    std::condition_variable cv;
    int completed = 0;
    std::vector<double> lat;
    int total;
  } sh;
  sh.store = &store;
  sh.total = total;
  sh.lat.reserve(total);
  struct Appender {
    Shared* sh;
    int id;
    std::uint64_t n = 0;
    void Next() {
      if (sh->issued.fetch_add(1) >= sh->total) return;
      const std::string stream = "a" + std::to_string(id) + "-" + std::to_string(n++ % 1000);
      const cqrs::EventData e = MakeEvent(sh->payload);
      const auto t0 = Clock::now();
      sh->store->AppendAsync(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1),
                             [this, t0](cqrs::Result<cqrs::AppendResult> r) {
                               if (!r.ok()) std::abort();
                               const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
                               Next();
                               // Last touch of shared state: the waiter may return right after.
                               std::lock_guard lock(sh->mu);
                               sh->lat.push_back(us);
                               if (++sh->completed == sh->total) sh->cv.notify_all();
                             });
    }
  };
  std::vector<Appender> apps;
  for (int i = 0; i < appenders; ++i) apps.push_back({&sh, i});
  for (auto& a : apps) a.Next();
  std::unique_lock lock(sh.mu);
  sh.cv.wait(lock, [&] { return sh.completed == total; });
  return sh.lat;
}

double Percentile(std::vector<double>& v, double p) {
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

void BM_DurableAppend(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  const bool async = state.range(1) == 1;
  const bool preallocate = state.range(2) == 1;
  const auto dir = FreshDir("append");
  {
    cqrs::EmbeddedStoreOptions options;
    options.dir = dir;
    options.preallocate = preallocate;
    auto store = cqrs::OpenEmbeddedEventStore(options);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    // Warm up past the first few MiB, so that a preallocated segment is in use, as it is in a
    // service that has been running for a while.
    RunAsync(**store, 64, 20'000);
    constexpr int kPerIteration = 20'000;
    std::vector<double> lat;
    for (auto _ : state) {
      const auto t0 = Clock::now();
      auto l = async ? RunAsync(**store, appenders, kPerIteration) : RunThreads(**store, appenders, kPerIteration);
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
      lat.insert(lat.end(), l.begin(), l.end());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(lat.size()));
    state.counters["p50_us"] = Percentile(lat, 0.50);
    state.counters["p99_us"] = Percentile(lat, 0.99);
    state.counters["p999_us"] = Percentile(lat, 0.999);
    state.SetLabel(std::string(async ? "async" : "threads") + (preallocate ? "" : ", no preallocation"));
  }
  std::filesystem::remove_all(dir);
}

BENCHMARK(BM_DurableAppend)
    ->ArgNames({"appenders", "async", "prealloc"})
    ->ArgsProduct({{1, 8, 64, 256}, {0, 1}, {1}})
    ->Args({64, 1, 0})  // the same load with segment preallocation off, for comparison
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
}  // namespace adsd::bench
