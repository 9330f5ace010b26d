// The sequencer under real processes: three append (testing/append_child.cc) with random
// rollbacks and version races; the process leading the sequencing is killed with SIGKILL midway.
// Afterwards the positions are gap-free, the hash chain verifies, every acknowledged event is
// stored at the position it was acknowledged with, and each stream's versions follow the order.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>

#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/schema.h"
#include "cqrs/store/postgres/store.h"
#include "cqrs/store/postgres/verify.h"

namespace cqrs {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Acked {
  std::uint64_t position;
  std::string stream;
  std::uint64_t version;
};

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
  std::string partial;
  long acked = 0;
  bool done = false;
  bool exited = false;
};

Child Spawn(const std::string& url, long count, int seed) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const std::string n = std::to_string(count), s = std::to_string(seed);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(POSTGRES_APPEND_CHILD, POSTGRES_APPEND_CHILD, url.c_str(), n.c_str(), s.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  Child c;
  c.pid = pid;
  c.out = fds[0];
  return c;
}

// Reads what the child wrote so far (waiting up to `wait`); complete lines go into `acked`.
void Drain(Child& c, std::map<std::string, Acked>& acked, std::chrono::milliseconds wait) {
  pollfd p{c.out, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  char buf[65536];
  const ssize_t n = read(c.out, buf, sizeof buf);
  if (n <= 0) return;
  c.partial.append(buf, static_cast<std::size_t>(n));
  std::size_t nl;
  while ((nl = c.partial.find('\n')) != std::string::npos) {
    std::istringstream line(c.partial.substr(0, nl));
    c.partial.erase(0, nl + 1);
    std::string id;
    Acked a;
    line >> id;
    if (id == "done") {
      c.done = true;
      continue;
    }
    line >> a.position >> a.stream >> a.version;
    EXPECT_TRUE(acked.emplace(id, a).second) << "acknowledged twice: " << id;
    ++c.acked;
  }
}

// The application_name of the session holding the sequencer's advisory lock ("" if none).
std::string Leader(pg::Connection& c) {
  const std::uint64_t key = static_cast<std::uint64_t>(pg::AdvisoryLockKey(kSequencerLockName));
  auto rows = c.Query(
      "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      {pg::Param::Int(static_cast<std::int64_t>(key >> 32)),
       pg::Param::Int(static_cast<std::int64_t>(key & 0xffffffff))});
  return rows.ok() && !rows->empty() ? std::string(rows->Text(0, 0)) : "";
}

TEST(PostgresSequencerCrash, ThreeProcessesWithRollbacksAndTheLeaderKilledLoseNothingAndLeaveNoGap) {
  const std::string url = testing::FreshPostgresDatabase();
  constexpr int kProcesses = 3;
  constexpr long kAppends = 10'000;
  {  // migrate first, so that the children race on appends, not on the schema
    auto s = OpenPostgresEventStore({url});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
  std::vector<Child> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(Spawn(url + "?application_name=child" + std::to_string(i), kAppends, 20261202 + i));
  }
  auto admin = pg::Connection::Open(url);
  ASSERT_TRUE(admin.ok());
  std::map<std::string, Acked> acked;

  // Kill the leader once a third of the work is acknowledged.
  int killed = -1;
  for (auto deadline = Clock::now() + 240s; killed < 0 && Clock::now() < deadline;) {
    for (Child& c : children) Drain(c, acked, 10ms);
    if (static_cast<long>(acked.size()) < kProcesses * kAppends / 3) continue;
    const std::string leader = Leader(**admin);
    if (leader.rfind("child", 0) != 0) continue;
    killed = std::stoi(leader.substr(5));
    ASSERT_EQ(kill(children[killed].pid, SIGKILL), 0);
  }
  ASSERT_GE(killed, 0) << "no child led the sequencing while a third of the appends were acknowledged";
  int status = 0;
  waitpid(children[killed].pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  children[killed].exited = true;
  for (long before = -1; before != static_cast<long>(acked.size());) {  // what it said before dying
    before = static_cast<long>(acked.size());
    Drain(children[killed], acked, 0ms);
  }

  // The others finish: another takes the sequencing over.
  for (auto deadline = Clock::now() + 240s; Clock::now() < deadline;) {
    bool all = true;
    for (Child& c : children) {
      if (c.exited) continue;
      Drain(c, acked, 10ms);
      all = all && c.done;
    }
    if (all) break;
  }
  for (int i = 0; i < kProcesses; ++i) {
    if (i == killed) continue;
    EXPECT_TRUE(children[i].done) << "child " << i << " did not finish";
    waitpid(children[i].pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << i << ": " << status;
    EXPECT_EQ(children[i].acked, kAppends) << "child " << i;
  }
  for (Child& c : children) close(c.out);

  // Rows the killed child committed but never heard back about are numbered by the next leader.
  auto store = OpenPostgresEventStore({url});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::int64_t total = 0;
  for (auto deadline = Clock::now() + 60s; Clock::now() < deadline;) {
    auto rows = (*admin)->Query("SELECT count(*) FILTER (WHERE position IS NULL), count(*) FROM events");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    total = rows->Int(0, 1);
    if (rows->Int(0, 0) == 0) break;
    (*store)->WaitForPosition(Position((*store)->Head().value() + 1), Clock::now() + 50ms);
  }
  ASSERT_GE(total, static_cast<std::int64_t>(acked.size()));
  ASSERT_TRUE((*store)->WaitForPosition(Position(static_cast<std::uint64_t>(total)), Clock::now() + 30s));

  // Gap-free and chained.
  auto chain = VerifyPostgresChain(**store);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_FALSE(chain->problem) << chain->problem->reason;
  EXPECT_EQ(chain->records, static_cast<std::uint64_t>(total));
  auto head = (*admin)->Query("SELECT position FROM log_head");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->Int(0, 0), total);

  // Every acknowledgement holds: same event, same place.
  std::map<std::string, Acked> stored;
  std::map<std::string, std::uint64_t> last_version;
  for (Position from(1);;) {
    auto batch = (*store)->ReadAll(from, 4096);
    ASSERT_TRUE(batch.ok());
    if (batch->empty()) break;
    for (const RecordedEvent& e : *batch) {
      stored[e.event_id.ToString()] = {e.position.value(), e.stream, e.version.value()};
      EXPECT_EQ(e.version.value(), ++last_version[e.stream]) << "stream " << e.stream << " out of order";
    }
    from = batch->back().position.next();
  }
  long matched = 0;
  for (const auto& [id, a] : acked) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "acknowledged, then lost: " << id;
    EXPECT_EQ(it->second.position, a.position) << id;
    EXPECT_EQ(it->second.stream, a.stream) << id;
    EXPECT_EQ(it->second.version, a.version) << id;
    ++matched;
  }
  EXPECT_GE(matched, (kProcesses - 1) * kAppends);
  auto rolled_back = (*admin)->Query("SELECT count(*) FROM events WHERE type = 'RolledBack'");
  ASSERT_TRUE(rolled_back.ok());
  EXPECT_EQ(rolled_back->Int(0, 0), 0);
}

}  // namespace
}  // namespace cqrs
