// pg_append_bench: durable single-event appends to the PostgreSQL event store, for comparison
// with pgbench's single-row INSERTs on the same server (bench/distributed-bench.sh runs both).
//
//   pg_append_bench --url postgresql://... [--processes P] [--appenders N] [--seconds S]
//                   [--append-connections C] [--numbering any|inline|sequencer]
//                   [--start-at UNIX_MS]
//
// P store instances (each with its own writer connection and group commit, as P adsd processes
// would have) with N blocking appenders each; every append is one 256-byte event with expected
// version `any` to a stream of its own appender. Prints one JSON line:
//   {"processes":P,"appenders":N,"appends":...,"seconds":...,"per_second":...,"p50_us":...,"p99_us":...}
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cqrs/store/postgres/store.h"

int main(int argc, char** argv) {
  CLI::App app{"durable single-event appends to the PostgreSQL event store"};
  std::string url;
  int processes = 1, appenders = 8;
  double seconds = 10;
  int append_connections = cqrs::PostgresStoreOptions{}.append_connections;
  std::string numbering = "any";
  std::int64_t start_at_ms = 0;
  app.add_option("--url", url, "postgresql://USER@HOST:PORT/DB (a database of its own: it gets the schema)")
      ->required();
  app.add_option("--processes", processes, "store instances, each with its own writer")->check(CLI::Range(1, 64));
  app.add_option("--appenders", appenders, "blocking appenders per store instance")->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds, "how long to append")->check(CLI::PositiveNumber);
  app.add_option("--append-connections", append_connections, "writer connections per store instance")
      ->check(CLI::Range(1, 64));
  app.add_option("--numbering", numbering,
                 "any: every append numbers if the head is free; inline: only the leading process's appends; "
                 "sequencer: only the sequencer (PostgresStoreOptions::Numbering)")
      ->check(CLI::IsMember({"any", "inline", "sequencer"}));
  app.add_option("--start-at", start_at_ms,
                 "start appending at this wall-clock time (ms since the epoch), so that several bench processes "
                 "measure the same window");
  CLI11_PARSE(app, argc, argv);

  std::atomic<std::uint64_t> batches{0}, batched{0};  // append transactions, and the appends in them
  std::vector<std::unique_ptr<cqrs::EventStore>> stores;
  for (int p = 0; p < processes; ++p) {
    cqrs::PostgresStoreOptions o{url};
    o.append_connections = append_connections;
    using N = cqrs::PostgresStoreOptions::Numbering;
    o.numbering = numbering == "any" ? N::kAnyFree : numbering == "inline" ? N::kLeaderInline : N::kSequencer;
    o.on_batch = [&](std::size_t n) {
      batches.fetch_add(1);
      batched.fetch_add(n);
    };
    auto s = cqrs::OpenPostgresEventStore(o);
    if (!s.ok()) {
      fmt::print(stderr, "pg_append_bench: {}\n", s.status().ToString());
      return 1;
    }
    stores.push_back(std::move(*s));
  }
  using Clock = std::chrono::steady_clock;
  const std::string payload(256, 'x');
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(processes * appenders);
  std::vector<std::thread> threads;
  if (start_at_ms > 0) {
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::milliseconds(start_at_ms)));
  }
  const auto started = Clock::now();
  for (int p = 0; p < processes; ++p) {
    for (int a = 0; a < appenders; ++a) {
      threads.emplace_back([&, p, a] {
        auto& lat = latencies[p * appenders + a];
        const std::string stream = "bench-" + cqrs::Uuid::V7().ToString();
        while (!stop.load()) {
          cqrs::EventData e;
          e.event_id = cqrs::Uuid::V7();
          e.type = "AdSubmitted";
          e.payload = payload;
          const auto t = Clock::now();
          auto r = stores[p]->Append(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1));
          if (!r.ok()) {
            fmt::print(stderr, "pg_append_bench: {}\n", r.status().ToString());
            std::exit(1);
          }
          lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
        }
      });
    }
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measured window
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * (all.size() - 1))]; };
  fmt::print(
      R"({{"processes":{},"appenders":{},"appends":{},"seconds":{:.3f},"per_second":{:.1f},"p50_us":{:.0f},"p99_us":{:.0f},)"
      R"("mean_batch":{:.2f}}})"
      "\n",
      processes, appenders, all.size(), elapsed, all.size() / elapsed, pct(0.5), pct(0.99),
      batches.load() == 0 ? 0.0 : static_cast<double>(batched.load()) / batches.load());
  return 0;
}
