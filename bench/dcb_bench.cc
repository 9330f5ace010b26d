// dcb_bench: conditional appends (Dynamic Consistency Boundaries) beside unconditional ones.
//
//   dcb_bench [--store DIR | postgresql://...] [--seconds S]
//
// For 1, 8 and 64 appenders (threads calling the blocking API), each for S seconds:
//   plain      Append of one tagged 256-byte event (the tag is the appender's own);
//   disjoint   Read(the appender's tag, from where it last read) then AppendIf(that query, the
//              read's head): no two
//              appenders share a tag, so a conflict would be a false one;
//   hot        the same on one tag shared by all: every decision races every other.
// Prints appends/s, conflicts and the median round (read + append) per case.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "cqrs/store/embedded_store.h"
#include "cqrs/store/postgres_store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  std::uint64_t appended = 0;
  std::uint64_t conflicts = 0;
  double median_us = 0;
};

enum class Mode { kPlain, kDisjoint, kHot };

Figures Run(cqrs::EventStore& store, Mode mode, int appenders, double seconds, const std::string& run) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> appended{0}, conflicts{0};
  std::vector<std::vector<double>> rounds(static_cast<std::size_t>(appenders));
  std::vector<std::thread> threads;
  const std::string payload(256, 'x');
  for (int t = 0; t < appenders; ++t) {
    threads.emplace_back([&, t] {
      const std::string tag = mode == Mode::kHot ? "hot-" + run : "own-" + run + "-" + std::to_string(t);
      const cqrs::Query q = cqrs::Query::AllOf({tag});
      std::uint64_t i = 0;
      cqrs::Position seen_up_to(0);  // a decider keeps its state and reads only what is new
      while (!stop.load(std::memory_order_relaxed)) {
        cqrs::EventData e;
        e.event_id = cqrs::Uuid::V7();
        e.type = "Happened";
        e.payload = payload;
        e.tags = {tag};
        const std::string stream = "s-" + run + "-" + std::to_string(t) + "-" + std::to_string(i++ % 1000);
        const auto t0 = Clock::now();
        cqrs::Status st;
        if (mode == Mode::kPlain) {
          st = store.Append(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1)).status();
        } else {
          auto seen = store.Read(q, seen_up_to, 1000);
          if (!seen.ok()) std::abort();
          seen_up_to = seen->head;
          st = store.AppendIf(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1), {q, seen->head}).status();
        }
        if (st.ok()) {
          ++appended;
          rounds[static_cast<std::size_t>(t)].push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        } else if (st.code() == cqrs::StatusCode::kVersionConflict) {
          ++conflicts;
        } else {
          fmt::print(stderr, "append failed: {}\n", st.ToString());
          std::abort();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measured interval
  stop.store(true);
  for (auto& th : threads) th.join();
  std::vector<double> all;
  for (auto& r : rounds) all.insert(all.end(), r.begin(), r.end());
  Figures f{appended.load(), conflicts.load(), 0};
  if (!all.empty()) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2), all.end());
    f.median_us = all[all.size() / 2];
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"conditional appends beside unconditional ones"};
  std::string where = "dcb-bench-data";
  double seconds = 3;
  app.add_option("--store", where, "a directory (embedded log, emptied first) or a postgresql:// URL");
  app.add_option("--seconds", seconds, "per case");
  CLI11_PARSE(app, argc, argv);
  const bool pg = where.starts_with("postgresql://") || where.starts_with("postgres://");
  if (!pg) std::filesystem::remove_all(where);
  auto opened = pg ? cqrs::OpenPostgresEventStore({.url = where}) : cqrs::OpenEmbeddedEventStore({.dir = where});
  if (!opened.ok()) {
    fmt::print(stderr, "open: {}\n", opened.status().ToString());
    return 1;
  }
  const std::string run = cqrs::Uuid::V7().ToString().substr(0, 8);
  fmt::print("{:<9} {:>9} {:>12} {:>10} {:>12}\n", "case", "appenders", "appends/s", "conflicts", "median µs");
  for (int appenders : {1, 8, 64}) {
    for (auto [mode, name] :
         {std::pair{Mode::kPlain, "plain"}, std::pair{Mode::kDisjoint, "disjoint"}, std::pair{Mode::kHot, "hot"}}) {
      const Figures f = Run(**opened, mode, appenders, seconds, run + name + std::to_string(appenders));
      fmt::print("{:<9} {:>9} {:>12.0f} {:>10} {:>12.0f}\n", name, appenders, static_cast<double>(f.appended) / seconds,
                 f.conflicts, f.median_us);
    }
  }
  if (!pg) std::filesystem::remove_all(where);
  return 0;
}
