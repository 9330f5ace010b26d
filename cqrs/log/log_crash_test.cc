// Crash safety with a real process: a child appends in a loop and reports every acknowledged
// position; it is killed with SIGKILL at random moments; after each kill every acknowledged
// record must be present, intact and in order.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <string>

#include "cqrs/core/crc32c.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/log.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

using namespace std::chrono_literals;

struct Child {
  pid_t pid;
  int out;  // read end of the child's stdout
};

Child Spawn(const std::filesystem::path& dir) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(LOG_CRASH_CHILD, LOG_CRASH_CHILD, dir.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads whatever the child wrote; complete lines go into `acked`.
void Drain(int fd, std::string& partial, std::map<std::uint64_t, std::uint32_t>& acked,
           std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return;
  partial.append(buf, static_cast<std::size_t>(n));
  std::size_t nl;
  while ((nl = partial.find('\n')) != std::string::npos) {
    const std::string line = partial.substr(0, nl);
    partial.erase(0, nl + 1);
    const auto sp = line.find(' ');
    acked[std::stoull(line.substr(0, sp))] = static_cast<std::uint32_t>(std::stoul(line.substr(sp + 1)));
  }
}

TEST(LogCrash, EveryAcknowledgedRecordSurvivesSigkill) {
  cqrs::testing::TempDir dir;
  std::mt19937 rng(20261124);
  std::map<std::uint64_t, std::uint32_t> acked;  // position -> crc of its payload
  constexpr int kRounds = 24;
  for (int round = 0; round < kRounds; ++round) {
    const std::size_t before = acked.size();
    Child child = Spawn(dir.path());
    std::string partial;
    // Kill after a random number of new acknowledgements (0 = as soon as it is up and writing).
    const std::size_t want = before + std::uniform_int_distribution<int>(0, 400)(rng);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (acked.size() < want + (want == before ? 1 : 0) && std::chrono::steady_clock::now() < deadline) {
      Drain(child.out, partial, acked, 50ms);
    }
    ASSERT_GT(acked.size(), before) << "round " << round << ": the child acknowledged nothing";
    kill(child.pid, SIGKILL);
    int status = 0;
    waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited by itself: " << status;
    // Acknowledgements written before the kill but not yet read are still in the pipe.
    while (true) {
      const std::size_t n = acked.size();
      Drain(child.out, partial, acked, 0ms);
      if (acked.size() == n) break;
    }
    close(child.out);

    LogOptions o;
    o.dir = dir.path();
    o.segment_bytes = 64 << 10;
    auto log = Log::Open(o);
    ASSERT_TRUE(log.ok()) << "round " << round << ": " << log.status().ToString();
    ASSERT_GE((*log)->durable_head().value(), acked.rbegin()->first);
    std::uint64_t expect = 1;
    std::size_t matched = 0;
    ASSERT_TRUE((*log)
                    ->Scan(Position(1), ~std::size_t{0},
                           [&](const RecordView& v) {
                             EXPECT_EQ(v.position.value(), expect++);
                             auto it = acked.find(v.position.value());
                             if (it != acked.end()) {
                               EXPECT_EQ(crc32c::Value(v.payload), it->second) << "position " << v.position.value();
                               ++matched;
                             }
                             return true;
                           })
                    .ok());
    EXPECT_EQ(matched, acked.size()) << "round " << round;
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->problem.has_value()) << report->problem->reason;
  EXPECT_GE(report->records, acked.size());
}

}  // namespace
}  // namespace cqrs::log
