// The distributed shape after its event store goes back in time: a point-in-time restore of the
// store's PostgreSQL cluster with scripts/pg-backup.sh, and every role started again.
//
// The store runs on a PostgreSQL of the test's own (WAL archiving on, a base backup; it is stopped,
// restored and started again), Kafka is the fixture's broker (a topic of the test's own), the
// shared read model is a database on the fixture's PostgreSQL (it is not restored: it is ahead),
// and a read process keeps its own SQLite model. Ads are submitted before and after time T; the
// store's cluster is restored to T; then:
//   - a process left running through the restore stops by itself (exit 4);
//   - every role refuses to start, naming what is ahead and the remedy (the topic for write and
//     worker processes; the read models, first past the store's head, then, once new ads were
//     stored, at positions where the store holds other events);
//   - started with --repair-ahead they repair (a new topic generation, rebuilt read models);
//   - the ads after T exist nowhere (404 on both read processes, no event in the store, no
//     webhook after the restart), the ads before T are all there and decided, new ads flow
//     (decided, delivered by webhook), and `adsctl verify --store` passes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/test_ads.h"
#include "app/adsd/webhook_receiver.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/core/testing/wait_until.h"
#include "cqrs/pg/testing/test_servers.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::QueryCount;
using cqrs::testing::WaitUntil;
using testing::AdsdProcess;
using testing::Field;
using testing::kAcme;
using testing::Received;
using testing::Receiver;
using testing::Shell;
using testing::UniqueGoodAd;

const std::string kScripts = ADSD_SCRIPTS_DIR;

// A script's run that must succeed; its output.
std::string RunScript(const std::string& command) {
  auto [rc, out] = Shell(command + " 2>&1");
  EXPECT_EQ(rc, 0) << command << ":\n" << out;
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class RestoreDistributed : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server runs as its own user when the tests run as root: it must reach the directory.
    for (auto p = dir_.path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      std::filesystem::permissions(p, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
    }
    store_url_ = Trim(RunScript(kScripts + "/servers/postgres.sh start " + Pg()));
    RunScript(kScripts + "/pg-backup.sh archive-on " + store_url_ + " " + Archive());
    RunScript(kScripts + "/servers/postgres.sh stop " + Pg());
    RunScript(kScripts + "/servers/postgres.sh start " + Pg());
    RunScript(kScripts + "/pg-backup.sh base " + store_url_ + " " + (dir_.path() / "backup").string());
  }
  void TearDown() override { (void)Shell(kScripts + "/servers/postgres.sh stop " + Pg() + " immediate 2>&1"); }

  std::string Pg() const { return (dir_.path() / "pg").string(); }
  std::string Archive() const { return (dir_.path() / "archive").string(); }
  std::filesystem::path Data(const std::string& name) const { return dir_.path() / name / "data"; }

  std::vector<std::string> Args(const std::string& role, std::vector<std::string> more = {}) const {
    std::vector<std::string> a = {"--role",
                                  role,
                                  "--store",
                                  store_url_,
                                  "--bus",
                                  bus_,
                                  "--webhooks-allow-private",
                                  "--webhook-backoff-ms",
                                  "50",
                                  "--webhook-backoff-max-ms",
                                  "200"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  // The read process sharing its model in PostgreSQL.
  std::vector<std::string> SharedReaderArgs(std::vector<std::string> more = {}) const {
    more.insert(more.begin(), {"--read-db", read_db_});
    return Args("read", std::move(more));
  }

  // A start that must be refused: exit 1, and what it said.
  std::string Refused(const std::string& name, const std::vector<std::string>& args) {
    const std::filesystem::path data = Data(name);
    std::filesystem::create_directories(data.parent_path());
    testing::WriteKeys(data.parent_path() / "keys.toml");
    std::string cmd = "timeout 60 " + std::string(ADSD_BINARY) + " --data-dir " + data.string() + " --api-keys " +
                      (data.parent_path() / "keys.toml").string() + " --pipeline async --listen 127.0.0.1:0";
    for (const std::string& a : args) cmd += " '" + a + "'";
    auto [rc, out] = Shell(cmd + " 2>&1");
    EXPECT_EQ(rc, 1) << name << " was not refused:\n" << out;
    return out;
  }

  std::int64_t Store(const std::string& sql) const { return QueryCount(store_url_, sql); }

  // The store's own clock, read on its server: recovery_target_time compares commit times with it.
  std::string StoreNow() const {
    auto [rc, out] = Shell("/usr/lib/postgresql/15/bin/psql -X -At -d " + store_url_ +
                           " -c \"SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\\\"T\\\"HH24:MI:SS.US\\\"Z\\\"')\"");
    EXPECT_EQ(rc, 0) << out;
    return Trim(out);
  }

  cqrs::testing::TempDir dir_;
  std::string store_url_;
  std::string read_db_ = cqrs::testing::FreshPostgresDatabase();
  std::string bus_ =
      "kafka://" + cqrs::testing::TestKafkaBootstrap() + "?partitions=4&topic=t-" + cqrs::Uuid::V7().ToString();
};

// Submits `n` ads through `writer`; their ids.
std::vector<std::string> Submit(const AdsdProcess& writer, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto r = writer.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    EXPECT_EQ(r.status, 202) << r.body;
    ids.push_back(Field(r.body, "ad_id"));
  }
  return ids;
}

// Whether every ad of `ids` reads as decided (approved or rejected) from `reader`.
bool Decided(const AdsdProcess& reader, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    auto r = reader.Call("GET", "/v1/ads/" + id, kAcme);
    const std::string status = r.status == 200 ? Field(r.body, "status") : "";
    if (status != "approved" && status != "rejected") return false;
  }
  return true;
}

// The ads of `ids` whose status changes reached the receiver, each with a verdict.
std::set<std::string> Notified(const std::vector<Received>& received) {
  std::set<std::string> out;
  for (const Received& r : received) {
    if (r.body.find("\"ad.approved\"") != std::string::npos || r.body.find("\"ad.rejected\"") != std::string::npos) {
      out.insert(Field(r.body, "ad_id"));
    }
  }
  return out;
}

bool AllIn(const std::set<std::string>& got, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (!got.contains(id)) return false;
  }
  return true;
}

std::string StreamList(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "'ad-" : ", 'ad-") + id + "'";
  return out;
}

TEST_F(RestoreDistributed, AfterAPointInTimeRestoreNothingDownstreamActsOnTheLostEvents) {
  ASSERT_FALSE(store_url_.empty());
  std::vector<std::string> before, after;
  std::string target;
  Receiver rx;
  // A read process left running through the restore (against the runbook): it must not go on.
  AdsdProcess bystander(Data("b"), "async", {}, Args("read"));
  ASSERT_TRUE(bystander.started());
  {
    AdsdProcess writer(Data("w"), "async", {}, Args("write"));
    AdsdProcess worker(Data("k"), "async", {}, Args("worker"));
    AdsdProcess reader(Data("r"), "async", {}, Args("read"));
    AdsdProcess shared(Data("s"), "async", {}, SharedReaderArgs());
    ASSERT_TRUE(writer.started() && worker.started() && reader.started() && shared.started());
    auto reg = writer.Call("POST", "/v1/webhooks", kAcme,
                           R"({"url":")" + rx.url() + R"(","events":["ad.approved","ad.rejected"]})");
    ASSERT_EQ(reg.status, 201) << reg.body;
    rx.set_secret(Field(reg.body, "secret"));

    before = Submit(writer, 5);
    ASSERT_TRUE(WaitUntil([&] { return Decided(reader, before) && Decided(shared, before); }, 60s));
    ASSERT_TRUE(rx.WaitFor([&](const auto& r) { return AllIn(Notified(r), before); }, 30s));
    target = StoreNow();
    after = Submit(writer, 5);
    ASSERT_TRUE(WaitUntil([&] { return Decided(reader, after) && Decided(shared, after); }, 60s));
    ASSERT_TRUE(rx.WaitFor([&](const auto& r) { return AllIn(Notified(r), after); }, 30s));
    // Everything committed reaches the archive; then the disaster: every process stops.
    RunScript(kScripts + "/pg-backup.sh switch-wal " + store_url_ + " " + Archive());
  }
  const std::int64_t head_before = Store("SELECT position FROM log_head");

  // The store's cluster back to T.
  RunScript(kScripts + "/servers/postgres.sh stop " + Pg());
  std::filesystem::rename(dir_.path() / "pg" / "data", dir_.path() / "pg" / "data.lost");
  RunScript(kScripts + "/pg-backup.sh restore " + (dir_.path() / "backup").string() + " " + Archive() + " " + Pg() +
            "/data --to-time " + target);
  RunScript(kScripts + "/servers/postgres.sh start " + Pg());
  RunScript(kScripts + "/pg-backup.sh wait " + store_url_ + " 120");
  const std::int64_t head_at_t = Store("SELECT position FROM log_head");
  // The process that ran through it saw the store's head go back, and stopped (exit 4).
  std::string ended;
  EXPECT_TRUE(WaitUntil([&] { return !(ended = bystander.Ended()).empty(); }, 30s));
  EXPECT_EQ(ended, "exit 4");
  ASSERT_LT(head_at_t, head_before);
  EXPECT_EQ(Store("SELECT count(*) FROM events WHERE stream IN (" + StreamList(after) + ")"), 0);
  EXPECT_EQ(Store("SELECT count(DISTINCT stream) FROM events WHERE stream IN (" + StreamList(before) + ")"), 5);

  // Without --repair-ahead every role refuses, naming what is ahead and the remedy.
  for (const char* role : {"write", "worker"}) {
    const std::string out = Refused(std::string("refused-") + role, Args(role));
    EXPECT_NE(out.find("holds events the event store no longer has"), std::string::npos) << out;
    EXPECT_NE(out.find("past the event store's head"), std::string::npos) << out;
    EXPECT_NE(out.find("--repair-ahead"), std::string::npos) << out;
  }
  std::string out = Refused("r", Args("read"));
  EXPECT_NE(out.find("the SQLite read model"), std::string::npos) << out;
  EXPECT_NE(out.find("past the event store's head"), std::string::npos) << out;
  out = Refused("s", SharedReaderArgs());
  EXPECT_NE(out.find("the read model 'ads' in PostgreSQL"), std::string::npos) << out;
  EXPECT_NE(out.find("--repair-ahead"), std::string::npos) << out;

  // What the receiver gets from here on is what the restarted processes sent.
  const std::size_t delivered_before_restart = rx.received().size();
  // The write and worker processes repair: a new topic generation, republished from the start.
  AdsdProcess writer(Data("w"), "async", {}, Args("write", {"--repair-ahead"}));
  AdsdProcess worker(Data("k"), "async", {}, Args("worker", {"--repair-ahead"}));
  ASSERT_TRUE(writer.started() && worker.started());
  EXPECT_EQ(Store("SELECT count(*) FROM bus_generations"), 1);
  // New ads, more events than the ads after T had: the read models' old positions now hold other
  // events of the store.
  const std::vector<std::string> fresh = Submit(writer, 7);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Store("SELECT count(*) FROM events WHERE type IN ('AdApproved', 'AdRejected') AND stream IN (" +
                     StreamList(fresh) + ")") == 7;
      },
      60s));
  ASSERT_GE(Store("SELECT position FROM log_head"), head_before);
  out = Refused("r", Args("read"));
  EXPECT_NE(out.find("the SQLite read model"), std::string::npos) << out;
  EXPECT_NE(out.find("now holds another event"), std::string::npos) << out;
  out = Refused("s", SharedReaderArgs());
  EXPECT_NE(out.find("now holds another event"), std::string::npos) << out;

  AdsdProcess reader(Data("r"), "async", {}, Args("read", {"--repair-ahead"}));
  AdsdProcess shared(Data("s"), "async", {}, SharedReaderArgs({"--repair-ahead"}));
  ASSERT_TRUE(reader.started() && shared.started());
  // Before T: all there, decided. New: decided, and notified.
  ASSERT_TRUE(WaitUntil([&] { return Decided(reader, before) && Decided(shared, before); }, 60s));
  ASSERT_TRUE(WaitUntil([&] { return Decided(reader, fresh) && Decided(shared, fresh); }, 60s));
  EXPECT_TRUE(rx.WaitFor([&](const auto& r) { return AllIn(Notified(r), fresh); }, 30s));
  const std::vector<std::string> last = Submit(writer, 1);
  ASSERT_TRUE(WaitUntil([&] { return Decided(reader, last) && Decided(shared, last); }, 60s));
  EXPECT_TRUE(rx.WaitFor([&](const auto& r) { return AllIn(Notified(r), last); }, 30s));
  // After T: nowhere. Not read, not in the store (no verdict), not notified since the restart.
  for (const std::string& id : after) {
    EXPECT_EQ(reader.Call("GET", "/v1/ads/" + id, kAcme).status, 404) << id;
    EXPECT_EQ(shared.Call("GET", "/v1/ads/" + id, kAcme).status, 404) << id;
  }
  EXPECT_EQ(Store("SELECT count(*) FROM events WHERE stream IN (" + StreamList(after) + ")"), 0);
  const std::vector<Received> received = rx.received();
  std::set<std::string> since(after.begin(), after.end());
  for (std::size_t i = delivered_before_restart; i < received.size(); ++i) {
    EXPECT_FALSE(since.contains(Field(received[i].body, "ad_id"))) << "a webhook for a lost ad: " << received[i].body;
  }
  // Each ad decided once, and the chain whole.
  EXPECT_EQ(Store("SELECT count(*) FROM (SELECT stream FROM events WHERE type IN ('AdApproved', 'AdRejected') "
                  "GROUP BY stream HAVING count(*) > 1) twice"),
            0);
  auto [rc, verify] = Shell(std::string(ADSCTL_BINARY) + " verify --store " + store_url_ + " 2>&1");
  EXPECT_EQ(rc, 0) << verify;
}

}  // namespace
}  // namespace adsd::app
