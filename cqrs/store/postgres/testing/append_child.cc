// postgres_append_child URL COUNT SEED: one "process" of sequencer_crash_test.cc.
//
// Opens the PostgreSQL event store at URL and makes COUNT successful appends from 4 threads, to
// shared streams (so that processes race on versions) with `any` or `exact` expected versions
// (an exact append that loses the race is retried, as a command handler would). Beside them, on
// a connection of its own, each thread now and then runs an append transaction by hand and rolls
// it back: it takes `seq` values and leaves dead rows, as aborted appends do.
//
// After each acknowledged append it prints "<event id> <position> <stream> <version>\n" with one
// write(2), so the parent knows exactly what was acknowledged even if it kills this process;
// "done\n" at the end.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cqrs/pg/connection.h"
#include "cqrs/store/postgres/store.h"

namespace {

void Say(const std::string& line) {
  if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
}

// An append transaction that aborts: the row is inserted (taking a seq), then rolled back.
void RollBack(cqrs::pg::Connection& c, const std::string& stream) {
  (void)c.Exec("BEGIN");
  (void)c.Query(
      "INSERT INTO events (stream, version, event_id, type, schema_version, timestamp_us, correlation_id, "
      "causation_id, metadata, payload) VALUES ($1, 1000000, $2, 'RolledBack', 1, 1, $3, $3, '', '')",
      {cqrs::pg::Param::Text(stream), cqrs::pg::Param::Text(cqrs::Uuid::V7().ToString()),
       cqrs::pg::Param::Text(cqrs::Uuid::Nil().ToString())});
  (void)c.Exec("ROLLBACK");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string url = argv[1];
  const long count = std::stol(argv[2]);
  const unsigned seed = static_cast<unsigned>(std::stoul(argv[3]));
  auto store = cqrs::OpenPostgresEventStore({url});
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 3;
  }
  constexpr int kThreads = 4, kStreams = 40;
  std::atomic<long> left{count};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed * 31 + t);
      auto side = cqrs::pg::Connection::Open(url);
      if (!side.ok()) _exit(6);
      while (left.fetch_sub(1) > 0) {
        const std::string stream = "s" + std::to_string(rng() % kStreams);
        if (rng() % 10 == 0) RollBack(**side, stream);
        cqrs::EventData e;
        e.event_id = cqrs::Uuid::V7();
        e.type = "Happened";
        e.payload = "{\"n\":" + std::to_string(rng()) + "}";
        const bool exact = rng() % 2 == 0;
        while (true) {
          cqrs::ExpectedVersion expected = cqrs::ExpectedVersion::Any();
          if (exact) {
            auto v = (*store)->GetStreamVersion(stream);
            if (!v.ok()) _exit(7);
            expected = cqrs::ExpectedVersion::Exact(*v);
          }
          auto r = (*store)->Append(stream, expected, std::span(&e, 1));
          if (r.ok()) {
            Say(e.event_id.ToString() + " " + std::to_string(r->last_position.value()) + " " + stream + " " +
                std::to_string(r->last_version.value()) + "\n");
            break;
          }
          if (r.status().code() != cqrs::StatusCode::kVersionConflict) {
            std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
            _exit(8);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  Say("done\n");
  return 0;
}
