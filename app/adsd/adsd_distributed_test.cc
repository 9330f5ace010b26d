// The service split into processes on PostgreSQL and Kafka: roles, scaling, and faults.
//
//   - write, read and worker processes, two writers on one port (SO_REUSEPORT);
//   - two read processes sharing a read model in PostgreSQL, one taking over from the other;
//   - a read process reading the event store from a streaming replica (webhooks listed there);
//   - the outbox relay after a crash between the store's commit and the publish;
//   - a worker SIGKILLed mid-batch: its partitions move, no ad is lost or decided twice;
//   - the optimized pipeline on Kafka: the answer comes from the brokers' acknowledgement,
//     Idempotency-Keys hold before and after the submission is stored, a key reused across
//     write processes makes one ad and the other request is counted as a conflict;
//   - PostgreSQL restarted (submissions go on through Kafka), and separately the broker (cqrs
//     pipeline: the store is the outbox), under load: every acknowledged submission reaches a
//     final status without anyone stepping in (in the SQLite read model of an `all` process and
//     in a read process's model in PostgreSQL);
//   - scaling: with the external validator at 20 ms a call, 4 workers decide >= 3x as fast as 1;
//   - a broker of a three-node cluster SIGKILLed under load (adsd_broker_failover_test).
//
// The shared servers are the ctest fixture's; the tests that restart a server start their own.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/sse_client.h"
#include "app/adsd/submit_load.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/core/testing/wait_until.h"
#include "cqrs/kafka/testing/test_cluster.h"
#include "cqrs/pg/testing/test_servers.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::QueryCount;
using cqrs::testing::WaitUntil;
using testing::AdsdProcess;
using testing::kAcme;
using testing::ValidatorProcess;

using testing::Field;
using testing::FinalStatuses;
using testing::Load;
using testing::UniqueGoodAd;

// A PostgreSQL or Kafka of the test's own (scripts/servers), for tests that stop and restart it;
// with `replica_of`, a PostgreSQL streaming replica of the server in that directory.
class OwnServer {
 public:
  OwnServer(std::string script, std::filesystem::path dir, std::string address_file,
            std::filesystem::path replica_of = {})
      : script_(std::string(ADSD_SCRIPTS_DIR) + "/servers/" + std::move(script)),
        dir_(std::move(dir)),
        address_file_(std::move(address_file)),
        replica_of_(std::move(replica_of)) {
    // The PostgreSQL server runs as its own user when the tests run as root: it must reach DIR.
    for (auto p = dir_.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      std::filesystem::permissions(p, std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
    }
    Start();
  }
  ~OwnServer() { Stop(); }
  void Start() {
    const std::string how =
        replica_of_.empty() ? " start " + dir_.string() : " replica " + dir_.string() + " " + replica_of_.string();
    EXPECT_EQ(std::system((script_ + how + " > /dev/null").c_str()), 0);
  }
  void Stop() { EXPECT_EQ(std::system((script_ + " stop " + dir_.string() + " > /dev/null").c_str()), 0); }
  std::string address() const {
    std::ifstream in(dir_ / address_file_);
    std::string line;
    std::getline(in, line);
    return line;
  }

 private:
  std::string script_;
  std::filesystem::path dir_;
  std::string address_file_;
  std::filesystem::path replica_of_;
};

std::string FreshTopic(const std::string& brokers, int partitions) {
  return "kafka://" + brokers + "?partitions=" + std::to_string(partitions) + "&topic=t-" + cqrs::Uuid::V7().ToString();
}

// One query against the event store's database.

std::int64_t Verdicts(const std::string& url) {
  return QueryCount(url, "SELECT count(*) FROM events WHERE type IN ('AdApproved', 'AdRejected')");
}

// Every stream holds its submission and exactly one verdict: nothing lost, nothing decided twice.
[[maybe_unused]] void ExpectEachAdDecidedOnce(const std::string& url, std::int64_t ads) {
  EXPECT_EQ(QueryCount(url, "SELECT count(*) FROM events WHERE type = 'AdSubmitted'"), ads);
  EXPECT_EQ(Verdicts(url), ads);
  EXPECT_EQ(QueryCount(url,
                       "SELECT count(*) FROM (SELECT stream FROM events WHERE type IN ('AdApproved', "
                       "'AdRejected') GROUP BY stream HAVING count(*) > 1) twice"),
            0);
}

class Distributed : public ::testing::Test {
 protected:
  // `name`'s data directory (each process has its own: its read model, its offsets).
  std::filesystem::path Data(const std::string& name) { return dir_.path() / name / "data"; }
  std::vector<std::string> Args(const std::string& role, std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"--role", role, "--store", url_, "--bus", bus_};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  cqrs::testing::TempDir dir_;
  std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::string bus_ = FreshTopic(cqrs::testing::TestKafkaBootstrap(), 8);
};

#if defined(ADSD_BROKER_FAILOVER_TEST)  // built three times: this test on the three-broker cluster,

// The optimized pipeline on a three-broker cluster (replication 3, min.insync.replicas 2): the
// broker leading most of the submissions topic's partitions is SIGKILLed under load; submissions
// go on once the partitions have new leaders, and every acknowledged ad still reaches exactly
// one verdict.
TEST_F(Distributed, EveryAcknowledgedAdIsDecidedOnceWhenABrokerDiesUnderLoad) {
  auto cluster = cqrs::testing::TestKafkaCluster::Find();
  ASSERT_TRUE(cluster);
  const std::string topic = "t-" + cqrs::Uuid::V7().ToString();
  bus_ = "kafka://" + cluster->bootstrap() + "?partitions=6&topic=" + topic;
  AdsdProcess writer(Data("w"), "async", {}, Args("write"));
  AdsdProcess worker(Data("k"), "async", {}, Args("worker", {"--consumers", "4"}));
  ASSERT_TRUE(writer.started() && worker.started());
  Load load(writer.port(), 4);
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= 200; }, 60s));
  auto victim = cluster->LeaderOfMost(topic + ".submissions");
  ASSERT_TRUE(victim.ok()) << victim.status().ToString();
  ASSERT_TRUE(cluster->Kill(*victim).ok());
  struct Restart {  // whatever happens: the next cluster test expects three brokers
    const cqrs::testing::TestKafkaCluster& c;
    int node;
    ~Restart() { EXPECT_TRUE(c.Restart(node).ok()); }
  } restart{*cluster, *victim};
  const std::size_t at_kill = load.acknowledged();
  const bool went_on = WaitUntil([&] { return load.acknowledged() >= at_kill + 200; }, 90s);
  load.Stop();
  ASSERT_TRUE(went_on) << load.acknowledged() - at_kill << " acknowledged after the kill, " << load.refused()
                       << " refused";
  const auto ids = load.ids();
  // A submission answered 503 may have reached the bus all the same: it is decided too, once.
  auto submitted = [&] { return QueryCount(url_, "SELECT count(*) FROM events WHERE type = 'AdSubmitted'"); };
  ASSERT_TRUE(WaitUntil(
      [&] {
        const auto n = submitted();
        return n >= static_cast<std::int64_t>(ids.size()) && Verdicts(url_) >= n;
      },
      120s))
      << Verdicts(url_) << " verdicts, " << submitted() << " stored, " << ids.size() << " acknowledged";
  ExpectEachAdDecidedOnce(url_, submitted());
  std::printf("broker %d killed after %zu acknowledged; %zu acknowledged in all, %zu refused, %lld stored\n", *victim,
              at_kill, ids.size(), load.refused(), static_cast<long long>(submitted()));
  auto c = cqrs::pg::Connection::Open(url_);
  ASSERT_TRUE(c.ok());
  auto decided = (*c)->Query("SELECT stream FROM events WHERE type IN ('AdApproved', 'AdRejected')");
  ASSERT_TRUE(decided.ok());
  std::set<std::string> streams;
  for (int i = 0; i < decided->size(); ++i) streams.insert(std::string(decided->Text(i, 0)));
  for (const std::string& id : ids) EXPECT_TRUE(streams.count("ad-" + id)) << "acknowledged ad " << id << " lost";
}

#elif !defined(ADSD_SCALING_TEST)  // the scaling test alone (run serially), the rest

TEST_F(Distributed, WriteReadAndWorkerProcessesServeTogetherAndTwoWritersShareAPort) {
  AdsdProcess writer1(Data("w1"), "async", {}, Args("write"));
  ASSERT_TRUE(writer1.started());
  const std::string shared = "127.0.0.1:" + std::to_string(writer1.port());
  AdsdProcess writer2(Data("w2"), "async", {}, Args("write", {"--listen", shared}));
  ASSERT_TRUE(writer2.started()) << "a second write process could not bind " << shared;
  AdsdProcess reader(Data("r"), "async", {}, Args("read"));
  AdsdProcess worker1(Data("k1"), "async", {}, Args("worker", {"--consumers", "4"}));
  AdsdProcess worker2(Data("k2"), "async", {}, Args("worker", {"--consumers", "4"}));
  ASSERT_TRUE(reader.started() && worker1.started() && worker2.started());

  // Each role serves its side only, and says what it waits for.
  EXPECT_EQ(writer1.Call("GET", "/v1/ads", kAcme).status, 405);  // only POST here
  EXPECT_EQ(writer1.Call("GET", "/v1/reports/daily?date=2026-01-01", kAcme).status, 404);
  EXPECT_EQ(reader.Call("POST", "/v1/ads", kAcme, UniqueGoodAd()).status, 405);  // only GET here
  for (const AdsdProcess* p : {&writer1, &reader, &worker1}) {
    auto ready = p->Call("GET", "/readyz", "");
    EXPECT_EQ(ready.status, 200) << ready.body;
  }
  EXPECT_EQ(Field(worker1.Call("GET", "/readyz", "").body, "role"), "worker");
  EXPECT_NE(reader.Call("GET", "/readyz", "").body.find("projection_position"), std::string::npos);

  // Many connections to the shared port: the kernel spreads them over both writers.
  // The live stream is a read process's: it follows the store's global order.
  testing::SseClient live(reader.port(), kAcme);
  ASSERT_TRUE(live.ReadUntil(": stream open")) << live.data();
  EXPECT_EQ(writer1.Call("GET", "/v1/ads/stream", kAcme).status, 501);
  // The optimized pipeline answers once Kafka has the submission: before the store gives it a
  // position, so the answer has none; a read waits on the ad's version instead.
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    auto r = writer1.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(Field(r.body, "version"), "1");
    EXPECT_EQ(Field(r.body, "position"), "") << r.body;
    ids.push_back(Field(r.body, "ad_id"));
  }
  auto served = [](const AdsdProcess& p) {
    auto m = p.Call("GET", "/metrics", "").body;
    return m.find("adsd_http_requests_total{method=\"POST\",route=\"/v1/ads\"") != std::string::npos;
  };
  EXPECT_TRUE(served(writer1) && served(writer2)) << "one writer took every connection";

  // Read-your-writes across processes: the read process waits until it holds the ad.
  auto r = reader.Call("GET", "/v1/ads/" + ids.back() + "?min_version=1&wait_ms=10000", kAcme);
  EXPECT_EQ(r.status, 200) << r.body;
  for (const auto& [id, status] : FinalStatuses(reader, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  ExpectEachAdDecidedOnce(url_, 60);
  // Each ad's approval reached the stream.
  EXPECT_TRUE(live.ReadUntil("\"ad_id\":\"" + ids.back() + "\",\"status\":\"approved\""))
      << live.data().substr(0, 2000);
  for (const std::string& id : ids) {
    EXPECT_NE(live.data().find("\"ad_id\":\"" + id + "\",\"status\":\"approved\""), std::string::npos) << id;
  }
  // Both workers have a share of the partitions.
  auto partitions = [](const AdsdProcess& p) {
    const std::string n = Field(p.Call("GET", "/readyz", "").body, "bus_partitions");
    return n.empty() ? 0 : std::stoi(n);
  };
  EXPECT_TRUE(
      WaitUntil([&] { return partitions(worker1) > 0 && partitions(worker1) + partitions(worker2) == 8; }, 30s));
}

// Read processes sharing one read model in PostgreSQL (--read-db): one applies the events, the
// other follows its checkpoint; both answer read-your-writes; when the one that applies is
// SIGKILLed, the other takes over and the model goes on. A rebuild there gives the same answers.
TEST_F(Distributed, ReadProcessesShareAReadModelInPostgresAndOneTakesOverWhenTheOtherDies) {
  AdsdProcess writer(Data("w"), "async", {}, Args("write"));
  AdsdProcess worker(Data("k"), "async", {}, Args("worker", {"--consumers", "4"}));
  auto reader1 =
      std::make_unique<AdsdProcess>(Data("r1"), "async", std::vector<std::string>{}, Args("read", {"--read-db", url_}));
  ASSERT_TRUE(writer.started() && worker.started() && reader1->started());
  ASSERT_TRUE(WaitUntil(
      [&] { return reader1->Call("GET", "/readyz", "").body.find("\"projection_leader\":true") != std::string::npos; },
      30s));
  AdsdProcess reader2(Data("r2"), "async", {}, Args("read", {"--read-db", url_}));
  ASSERT_TRUE(reader2.started());
  EXPECT_NE(reader2.Call("GET", "/readyz", "").body.find("\"projection_leader\":false"), std::string::npos);
  EXPECT_NE(reader1->Call("GET", "/metrics", "").body.find("adsd_projection_leader 1"), std::string::npos);
  EXPECT_NE(reader2.Call("GET", "/metrics", "").body.find("adsd_projection_leader 0"), std::string::npos);

  auto submit = [&](std::vector<std::string>& ids) {
    auto r = writer.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    EXPECT_EQ(r.status, 202) << r.body;
    ids.push_back(Field(r.body, "ad_id"));
    return Field(r.body, "version");
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const std::string version = submit(ids);
    // Read-your-writes on the process that does not apply the events: it waits for the version.
    auto r = reader2.Call("GET", "/v1/ads/" + ids.back() + "?wait_ms=10000&min_version=" + version, kAcme);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  for (const auto& [id, status] : FinalStatuses(reader2, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  EXPECT_EQ(QueryCount(url_, "SELECT count(*) FROM ads WHERE status = 'approved'"), 20);  // one shared model

  reader1->Kill(SIGKILL);
  reader1.reset();
  for (int i = 0; i < 20; ++i) submit(ids);
  for (const auto& [id, status] : FinalStatuses(reader2, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  EXPECT_NE(reader2.Call("GET", "/readyz", "").body.find("\"projection_leader\":true"), std::string::npos);
  const std::string listing = reader2.Call("GET", "/v1/ads?limit=100", kAcme).body;

  // The model rebuilt from the log on the process that now applies it: the same answers.
  auto rebuilt = reader2.Call("POST", "/v1/admin/rebuild", testing::kAdmin);
  ASSERT_EQ(rebuilt.status, 200) << rebuilt.body;
  EXPECT_EQ(reader2.Call("GET", "/v1/ads?limit=100", kAcme).body, listing);
  EXPECT_EQ(QueryCount(url_, "SELECT count(*) FROM ads"), 40);
}

// A read process may read the event store from a streaming replica of the primary (it never
// appends): its read model follows the replicated global order, read-your-writes holds by
// version, and a process that writes refuses to start on the replica.
TEST_F(Distributed, AReadProcessOnAReplicaServesReadYourWrites) {
  OwnServer primary("postgres.sh", dir_.path() / "pg", "url");
  OwnServer replica("postgres.sh", dir_.path() / "pg-replica", "url", dir_.path() / "pg");
  url_ = primary.address();
  std::string replica_url = replica.address();
  AdsdProcess writer(Data("w"), "async", {}, Args("write", {"--webhooks-allow-private"}));
  AdsdProcess worker(Data("k"), "async", {}, Args("worker", {"--consumers", "4"}));
  ASSERT_TRUE(writer.started() && worker.started());  // the writer migrated the primary first
  AdsdProcess reader(Data("r"), "async", {}, {"--role", "read", "--store", replica_url, "--webhooks-allow-private"});
  ASSERT_TRUE(reader.started());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r = writer.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(Field(r.body, "ad_id"));
    auto got =
        reader.Call("GET", "/v1/ads/" + ids.back() + "?wait_ms=10000&min_version=" + Field(r.body, "version"), kAcme);
    EXPECT_EQ(got.status, 200) << got.body;
  }
  for (const auto& [id, status] : FinalStatuses(reader, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  EXPECT_EQ(reader.Call("GET", "/readyz", "").status, 200);
  // Webhooks: one registered on the writer is listed from the replica; registering there is 503.
  const std::string hook = R"({"url":"http://127.0.0.1:1/hook","events":["ad.approved"]})";
  auto reg = writer.Call("POST", "/v1/webhooks", kAcme, hook);
  ASSERT_EQ(reg.status, 201) << reg.body;
  EXPECT_TRUE(WaitUntil(
      [&] { return reader.Call("GET", "/v1/webhooks", kAcme).body.find(Field(reg.body, "id")) != std::string::npos; },
      30s));
  EXPECT_EQ(reader.Call("POST", "/v1/webhooks", kAcme, hook).status, 503);
  // Writing on a replica is refused at start, with the reason.
  AdsdProcess refused(Data("w2"), "async", {}, {"--role", "write", "--store", replica_url});
  EXPECT_FALSE(refused.started());
}

TEST_F(Distributed, IdempotencyKeysHoldOnTheBusBeforeAndAfterTheSubmissionIsStored) {
  AdsdProcess writer1(Data("w1"), "async", {}, Args("write"));
  AdsdProcess writer2(Data("w2"), "async", {}, Args("write"));
  ASSERT_TRUE(writer1.started() && writer2.started());
  const std::string body = UniqueGoodAd(), other = UniqueGoodAd();
  auto post = [](const AdsdProcess& w, const std::string& key, const std::string& b) {
    return w.Call("POST", "/v1/ads", kAcme, b, "Idempotency-Key: " + key + "\r\n");
  };
  // No worker yet: the submissions wait on the bus, known only to the writer that published them.
  auto first = post(writer1, "k-1", body);
  ASSERT_EQ(first.status, 202) << first.body;
  const std::string id = Field(first.body, "ad_id");
  EXPECT_EQ(Field(post(writer1, "k-1", body).body, "ad_id"), id);  // a retry: the same ad
  EXPECT_EQ(post(writer1, "k-1", other).status, 422);              // another body: refused
  // The same key with another body on the other writer, before the store has the first: both are
  // acknowledged, the first to reach the store is the ad and the other is dropped and counted.
  ASSERT_EQ(post(writer2, "k-1", other).status, 202);

  AdsdProcess worker(Data("k"), "async", {}, Args("worker", {"--consumers", "2"}));
  AdsdProcess reader(Data("r"), "async", {}, Args("read"));
  ASSERT_TRUE(worker.started() && reader.started());
  auto got = reader.Call("GET", "/v1/ads/" + id + "?min_version=1&wait_ms=10000", kAcme);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(FinalStatuses(reader, {id}, 60s)[id], "approved");
  EXPECT_TRUE(WaitUntil(
      [&] {
        return worker.Call("GET", "/metrics", "")
                   .body.find("adsd_ingest_submissions_total{outcome=\"key_conflict\"} 1") != std::string::npos;
      },
      30s))
      << worker.Call("GET", "/metrics", "").body;
  EXPECT_EQ(QueryCount(url_, "SELECT count(*) FROM events WHERE type = 'AdSubmitted'"), 1);
  // Once stored, every writer knows: a retry gets the first answer (with its position now), another
  // body is refused.
  auto retry = post(writer2, "k-1", body);
  EXPECT_EQ(retry.status, 202) << retry.body;
  EXPECT_EQ(Field(retry.body, "ad_id"), id);
  EXPECT_NE(Field(retry.body, "position"), "");
  EXPECT_EQ(post(writer2, "k-1", other).status, 422);
  ExpectEachAdDecidedOnce(url_, 1);
}

TEST_F(Distributed, TheRelayPublishesWhatACrashBetweenCommitAndPublishLeftBehind) {
  std::string id;
  {
    // The relay dies right before its first publish: the ad is committed, not yet on the bus.
    // (The relay may die before the HTTP answer is written: the ad is read back from the store.)
    // The cqrs pipeline: the store is the outbox of the bus (async publishes to Kafka first).
    AdsdProcess crashing(Data("w"), "cqrs", {"ADSD_FAILPOINT=before-bus-publish"}, Args("write"));
    ASSERT_TRUE(crashing.started());
    crashing.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    const int status = crashing.Wait();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "the failpoint did not fire";
  }
  auto c = cqrs::pg::Connection::Open(url_);
  ASSERT_TRUE(c.ok());
  auto stream = (*c)->Query("SELECT stream FROM events WHERE type = 'AdSubmitted'");
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 1) << "the submission was not committed";
  id = std::string(stream->Text(0, 0)).substr(std::string("ad-").size());
  EXPECT_EQ(Verdicts(url_), 0);
  // A worker (which runs a relay too) takes over from the relay's checkpoint: the ad is decided.
  AdsdProcess worker(Data("k"), "async", {}, Args("worker"));
  AdsdProcess reader(Data("r"), "async", {}, Args("read"));
  ASSERT_TRUE(worker.started() && reader.started());
  EXPECT_EQ(FinalStatuses(reader, {id}, 60s)[id], "approved");
  ExpectEachAdDecidedOnce(url_, 1);
}

TEST_F(Distributed, ASigkilledWorkersPartitionsMoveAndNoAdIsLostOrDecidedTwice) {
  ValidatorProcess validator({"--listen", "127.0.0.1:0", "--latency-ms", "20"});
  ASSERT_NE(validator.port(), 0);
  const std::vector<std::string> worker_args = {"--consumers", "4", "--validator-url", validator.url()};
  AdsdProcess writer(Data("w"), "async", {}, Args("write"));
  auto worker1 =
      std::make_unique<AdsdProcess>(Data("k1"), "async", std::vector<std::string>{}, Args("worker", worker_args));
  AdsdProcess worker2(Data("k2"), "async", {}, Args("worker", worker_args));
  AdsdProcess worker3(Data("k3"), "async", {}, Args("worker", worker_args));
  ASSERT_TRUE(writer.started() && worker1->started() && worker2.started() && worker3.started());
  constexpr int kAds = 300;
  for (int i = 0; i < kAds; ++i) ASSERT_EQ(writer.Call("POST", "/v1/ads", kAcme, UniqueGoodAd()).status, 202);
  ASSERT_TRUE(WaitUntil([&] { return Verdicts(url_) >= kAds / 4; }, 60s));
  worker1->Kill(SIGKILL);  // mid-batch: it has ads in flight on its lanes
  ASSERT_TRUE(WaitUntil([&] { return Verdicts(url_) >= kAds; }, 120s)) << Verdicts(url_) << " of " << kAds;
  ExpectEachAdDecidedOnce(url_, kAds);
}

TEST_F(Distributed, RestartingPostgresUnderLoadLosesNoAcknowledgedAd) {
  OwnServer pg("postgres.sh", dir_.path() / "pg", "url");
  url_ = pg.address();
  AdsdProcess adsd(Data("all"), "async", {}, Args("all", {"--consumers", "4"}));
  // And a read process whose read model is in the same server (it must reconnect too).
  AdsdProcess reader(Data("r"), "async", {}, Args("read", {"--read-db", url_}));
  ASSERT_TRUE(adsd.started() && reader.started());
  Load load(adsd.port(), 4);
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= 100; }, 60s));
  pg.Stop();
  // The optimized pipeline needs Kafka only: submissions go on while the store is down, and the
  // workers store them once it is back.
  const std::size_t at_stop = load.acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= at_stop + 100; }, 60s))
      << "submissions stopped with the store: " << load.refused() << " refused";
  pg.Start();
  const std::size_t before = load.acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= before + 100; }, 120s))
      << "no recovery: " << load.acknowledged() - before << " acknowledged, " << load.refused() << " refused; "
      << adsd.Call("GET", "/readyz", "").body << " " << adsd.Ended();
  load.Stop();
  const auto ids = load.ids();
  for (const auto& [id, status] : FinalStatuses(adsd, ids, 120s)) EXPECT_EQ(status, "approved") << id;
  for (const auto& [id, status] : FinalStatuses(reader, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  EXPECT_EQ(reader.Call("GET", "/readyz", "").status, 200) << reader.Call("GET", "/readyz", "").body;
  // A submission whose commit outcome the outage hid was answered 503 and may still be stored
  // (a retry with an Idempotency-Key would find it): it is decided too, once.
  const std::int64_t stored = QueryCount(url_, "SELECT count(*) FROM events WHERE type = 'AdSubmitted'");
  EXPECT_GE(stored, static_cast<std::int64_t>(ids.size()));
  ASSERT_TRUE(WaitUntil([&] { return Verdicts(url_) >= stored; }, 60s));
  ExpectEachAdDecidedOnce(url_, stored);
}

TEST_F(Distributed, RestartingTheBrokerUnderLoadLosesNoAcknowledgedAd) {
  const auto t0 = std::chrono::steady_clock::now();
  auto mark = [&](const char* what) {
    std::printf("%6.1f s  %s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), what);
  };
  OwnServer kafka("kafka.sh", dir_.path() / "kafka", "bootstrap");
  mark("broker started");
  bus_ = FreshTopic(kafka.address(), 4);
  // The cqrs pipeline, whose submissions go on while the broker is down (the store is the
  // outbox); the optimized pipeline needs the broker to answer (the three-broker test).
  AdsdProcess adsd(Data("all"), "cqrs", {}, Args("all", {"--consumers", "4"}));
  // And a read process whose read model is in the same server (it must reconnect too).
  AdsdProcess reader(Data("r"), "cqrs", {}, Args("read", {"--read-db", url_}));
  ASSERT_TRUE(adsd.started() && reader.started());
  Load load(adsd.port(), 4);
  ASSERT_TRUE(WaitUntil([&] { return Verdicts(url_) >= 100; }, 60s));
  mark("100 decided");
  kafka.Stop();
  mark("broker stopped");
  // Submissions go on (the store is the outbox); decisions wait for the broker.
  const std::size_t at_stop = load.acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= at_stop + 100; }, 60s));
  kafka.Start();
  mark("broker restarted");
  const std::size_t at_start = load.acknowledged();
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged() >= at_start + 100; }, 60s));
  load.Stop();
  mark("load stopped");
  const auto ids = load.ids();
  EXPECT_TRUE(WaitUntil([&] { return Verdicts(url_) >= static_cast<std::int64_t>(ids.size()); }, 120s))
      << Verdicts(url_) << " of " << ids.size() << " decided; " << adsd.Call("GET", "/readyz", "").body;
  mark("all decided");
  for (const auto& [id, status] : FinalStatuses(adsd, ids, 60s)) EXPECT_EQ(status, "approved") << id;
  ExpectEachAdDecidedOnce(url_, static_cast<std::int64_t>(ids.size()));
}

#else

// Ads decided per second by `workers` worker processes (one lane each) on 16 partitions, with
// the external validator at 20 ms a call: from the first verdict to the last. (Ads spread over
// partitions by the hash of their id: more partitions than workers evens out each worker's share,
// and the slowest worker sets the pace.)
double DecisionRate(const std::filesystem::path& dir, int workers, int ads, const std::string& validator_url) {
  const std::string url = cqrs::testing::FreshPostgresDatabase();
  const std::string bus = FreshTopic(cqrs::testing::TestKafkaBootstrap(), 16);
  auto args = [&](const std::string& role, std::vector<std::string> more) {
    std::vector<std::string> a = {"--role", role, "--store", url, "--bus", bus};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  AdsdProcess writer(dir / "w" / "data", "async", {}, args("write", {}));
  std::vector<std::unique_ptr<AdsdProcess> > ws;
  for (int i = 0; i < workers; ++i) {
    ws.push_back(std::make_unique<AdsdProcess>(dir / ("k" + std::to_string(i)) / "data", "async",
                                               std::vector<std::string>{},
                                               args("worker", {"--consumers", "1", "--validator-url", validator_url})));
    EXPECT_TRUE(ws.back()->started());
  }
  // Every worker holds partitions before the first ad: the group is settled.
  EXPECT_TRUE(WaitUntil(
      [&] {
        int total = 0;
        for (auto& w : ws) {
          const std::string n = Field(w->Call("GET", "/readyz", "").body, "bus_partitions");
          if (n.empty() || n == "0") return false;
          total += std::stoi(n);
        }
        return total == 16;
      },
      60s));
  // Submitted from several clients, faster than the workers decide.
  std::vector<std::thread> clients;
  std::atomic<int> next{0};
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      while (next.fetch_add(1) < ads) EXPECT_EQ(writer.Call("POST", "/v1/ads", kAcme, UniqueGoodAd()).status, 202);
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_TRUE(WaitUntil([&] { return Verdicts(url) >= ads; }, 120s));
  const std::int64_t span_us = QueryCount(
      url, "SELECT max(timestamp_us) - min(timestamp_us) FROM events WHERE type IN ('AdApproved', 'AdRejected')");
  return span_us > 0 ? (ads - 1) * 1e6 / static_cast<double>(span_us) : 0;
}

TEST_F(Distributed, FourWorkersDecideAtLeastThreeTimesAsFastAsOne) {
  ValidatorProcess validator({"--listen", "127.0.0.1:0", "--latency-ms", "20"});
  ASSERT_NE(validator.port(), 0);
  const double one = DecisionRate(dir_.path() / "one", 1, 300, validator.url());
  const double four = DecisionRate(dir_.path() / "four", 4, 1200, validator.url());
  RecordProperty("ads_per_second_1_worker", std::to_string(one));
  RecordProperty("ads_per_second_4_workers", std::to_string(four));
  std::printf("decision rate: 1 worker %.1f ads/s, 4 workers %.1f ads/s (%.2fx)\n", one, four, four / one);
  EXPECT_GE(four, 3 * one) << "1 worker: " << one << " ads/s, 4 workers: " << four << " ads/s";
}

#endif  // ADSD_SCALING_TEST

}  // namespace
}  // namespace adsd::app
