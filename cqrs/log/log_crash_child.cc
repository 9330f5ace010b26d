// log_crash_child DIR: appends to the log in DIR from several threads until killed.
//
// After each append is durable (AwaitDurable returned ok) it prints "<position> <crc32c of the
// payload>\n" to stdout with one write(2), so the parent knows exactly what was acknowledged.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cqrs/core/crc32c.h"
#include "cqrs/log/log.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  cqrs::log::LogOptions o;
  o.dir = argv[1];
  o.segment_bytes = 64 << 10;  // small segments: kills land around rolls and spares too
  auto log = cqrs::log::Log::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 3;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "crash-" + std::to_string(t);  // the draft only views it
      for (std::uint64_t seq = 0;; ++seq) {
        const std::string payload = "t" + std::to_string(t) + "-" + std::to_string(seq) + "-" +
                                    std::string(50 + (seq * 37 + t) % 400, char('a' + t));
        cqrs::log::RecordDraft d;
        d.event_id = cqrs::Uuid::V7();
        d.stream = stream;
        d.type = "Crash";
        d.payload = payload;
        auto r = (*log)->Stage(std::span(&d, 1));
        if (!r.ok() || !(*log)->AwaitDurable(r->last).ok()) _exit(4);
        const std::string line =
            std::to_string(r->last.value()) + " " + std::to_string(cqrs::crc32c::Value(payload)) + "\n";
        if (write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
}
