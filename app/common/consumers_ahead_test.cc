// Consumers ahead of the log (issue finding: recovery cut an applied record and the service went
// on as ready, reusing the position for an ad that was then never projected or validated).
#include "app/common/consumers_ahead.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::app {
namespace {

namespace fs = std::filesystem;
using cqrs::testing::TempDir;
using testing::AdsdProcess;
using testing::Field;
using testing::kAcme;

void WriteCheckpoint(const fs::path& read_db, std::uint64_t position) {
  auto db = cqrs::sql::Database::Open(read_db);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)
                  ->Exec("CREATE TABLE projection_checkpoints(projection TEXT PRIMARY KEY, position INTEGER);"
                         "INSERT INTO projection_checkpoints VALUES ('ads', " +
                         std::to_string(position) + ")")
                  .ok());
}

TEST(ConsumersAhead, RefusalNamesEveryConsumerBothPositionsAndTheRemedies) {
  TempDir dir;
  WriteCheckpoint(dir / "read.db", 12);
  ASSERT_TRUE((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Commit("validator", cqrs::Position(11)).ok());
  auto r = CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRefuse);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), cqrs::StatusCode::kCorruption);
  const std::string& m = r.status().message();
  for (const char* part : {"ends at position 10", "read model", "is at position 12", "validator offset",
                           "is at position 11", "adsctl repair --data-dir", "--repair-ahead"}) {
    EXPECT_NE(m.find(part), std::string::npos) << part << " in: " << m;
  }
  EXPECT_TRUE(fs::exists(dir / "read.db")) << "a refusal changes nothing";
  EXPECT_EQ((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Load("validator"), cqrs::Position(11));
}

TEST(ConsumersAhead, RepairRemovesTheReadModelAndSetsTheOffsetBackToTheHead) {
  TempDir dir;
  WriteCheckpoint(dir / "read.db", 12);
  ASSERT_TRUE((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Commit("validator", cqrs::Position(11)).ok());
  auto r = CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRepair);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_FALSE(fs::exists(dir / "read.db"));
  EXPECT_EQ((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Load("validator"), cqrs::Position(10));
  auto again = CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRefuse);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(ConsumersAhead, AnyConsumerGroupsOffsetCounts) {
  TempDir dir;
  ASSERT_TRUE((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Commit("exporter", cqrs::Position(13)).ok());
  auto refused = CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRefuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("exporter offset"), std::string::npos) << refused.status().message();
  ASSERT_TRUE(CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRepair).ok());
  EXPECT_EQ((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Load("exporter"), cqrs::Position(10));
}

TEST(ConsumersAhead, ConsumersAtOrBehindTheHeadPass) {
  TempDir dir;
  WriteCheckpoint(dir / "read.db", 10);
  ASSERT_TRUE((*cqrs::log::ConsumerOffsets::Open(dir / "offsets"))->Commit("validator", cqrs::Position(9)).ok());
  auto r = CheckConsumersNotAhead(dir.path(), dir / "read.db", cqrs::Position(10), AheadPolicy::kRefuse);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

// Runs adsd to its exit (it must not start serving) and returns its exit status and stderr.
std::pair<int, std::string> RunRefusedAdsd(const fs::path& data_dir) {
  int err[2];
  if (pipe(err) != 0) return {-1, ""};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    const std::string keys = (data_dir.parent_path() / "keys.toml").string();
    execl(ADSD_BINARY, ADSD_BINARY, "--data-dir", data_dir.c_str(), "--api-keys", keys.c_str(), "--listen",
          "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err[1]);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{err[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(err[0], buf, sizeof buf);
    if (n <= 0) break;  // the process closed stderr: it exited
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(err[0]);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
    pollfd none{-1, 0, 0};
    poll(&none, 0, 10);  // it closed stderr on its way out: its exit is a moment away
  }
  kill(pid, SIGKILL);  // still running past the deadline: a failure
  waitpid(pid, &status, 0);
  return {-1, out};
}

// Posts a good ad and waits (bounded) until it is decided. Returns the POST answer's log
// position and the decided ad's JSON ("" if it never was).
std::pair<std::string, std::string> PostAndAwaitDecision(AdsdProcess& adsd, const std::string& title) {
  const std::string ad = R"({"title":")" + title +
                         R"(","landing_url":"https://shop.example.com/boots","category":"apparel",)"
                         R"("bid_cents":120,"currency":"USD","countries":["US"]})";
  auto posted = adsd.Call("POST", "/v1/ads", kAcme, ad);
  EXPECT_EQ(posted.status, 202) << posted.body;
  const std::string id = Field(posted.body, "ad_id");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = adsd.Call("GET", "/v1/ads/" + id, kAcme);
    if (r.status == 200 && Field(r.body, "status") != "pending") return {Field(posted.body, "position"), r.body};
    // Let the server wait for the read model rather than polling fast.
    adsd.Call("GET", "/v1/ads/" + id + "?min_position=1000000000&wait_ms=50", kAcme);
  }
  return {Field(posted.body, "position"), ""};
}

TEST(ConsumersAhead, AdsdRefusesToStartAfterRecoveryCutWhatConsumersReadThenRepairsWhenAsked) {
  TempDir base;
  const fs::path data = base / "data";
  {
    AdsdProcess adsd(data, "async");
    ASSERT_TRUE(adsd.started());
    EXPECT_EQ(Field(PostAndAwaitDecision(adsd, "First boots").second, "status"), "approved");
    EXPECT_EQ(Field(PostAndAwaitDecision(adsd, "Second boots").second, "status"), "approved");
    adsd.Kill(SIGTERM);
  }
  // Damage the last record of the log (a bad disk, an older copy restored): recovery cuts it,
  // and the read model and the validator, which read it, stand past the new head.
  const fs::path seg = cqrs::log::testing::SegmentsOf(data / "log").back();
  const auto records = cqrs::log::testing::RecordsIn(seg);
  ASSERT_FALSE(records.empty());
  const auto last = records.back();
  std::string bytes = cqrs::log::testing::ReadAllBytes(seg);
  bytes[last.offset + last.size - 1] ^= 0x5A;
  cqrs::log::testing::WriteAllBytes(seg, bytes);

  const auto [code, err] = RunRefusedAdsd(data);
  EXPECT_EQ(code, 1) << err;
  const std::string head = std::to_string(last.position - 1), cut = std::to_string(last.position);
  for (const std::string& part :
       {std::string("log recovery cut"), seg.filename().string(), "position " + cut, "ends at position " + head,
        "is at position " + cut, std::string("adsctl repair"), std::string("--repair-ahead")}) {
    EXPECT_NE(err.find(part), std::string::npos) << part << " in: " << err;
  }

  // Repaired on request: the read model is rebuilt from the log and the validator goes back to
  // the head, so the ad that now takes the cut position is projected and decided.
  AdsdProcess repaired(data, "async", {}, {"--repair-ahead"});
  ASSERT_TRUE(repaired.started());
  const auto [position, ad] = PostAndAwaitDecision(repaired, "Third boots");
  EXPECT_EQ(position, cut) << "the new ad takes the position recovery cut";
  EXPECT_EQ(Field(ad, "status"), "approved") << ad;
  // Submission and verdict: both consumers are at the head again, none past it.
  auto ready = repaired.Call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  const std::string verdict = std::to_string(last.position + 1);
  EXPECT_EQ(Field(ready.body, "log_head"), verdict) << ready.body;
  EXPECT_EQ(Field(ready.body, "projection_position"), verdict) << ready.body;
}

}  // namespace
}  // namespace adsd::app
