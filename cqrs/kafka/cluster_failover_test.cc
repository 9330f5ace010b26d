// What an acknowledgement means on a three-broker cluster (the `kafka_cluster` fixture,
// scripts/servers/kafka-cluster.sh): the topic EnsureTopic creates there has three replicas and
// needs two in sync, and when the broker leading most partitions is SIGKILLed while the engine's
// Publisher publishes, every event the brokers had acknowledged is still read back, each stream's
// events in order, by a consumer group that followed the topic through the failover and by one
// that reads it afterwards from the two survivors.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/publisher.h"
#include "cqrs/kafka/testing/test_cluster.h"

namespace cqrs::kafka {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kStreams = 12;
constexpr int kBatch = 24;                 // events per Publish: two per stream
constexpr std::size_t kBeforeKill = 2000;  // acknowledged events before the broker dies
constexpr std::size_t kAfterKill = 2000;   // and after

BusOptions FreshBus(const testing::TestKafkaCluster& cluster) {
  BusOptions b;
  b.brokers = cluster.bootstrap();
  b.topic = "failover-" + Uuid::V7().ToString();
  b.partitions = 6;
  return b;
}

// What the brokers say of a topic: its fewest replicas of any partition, and two of its configs
// with whether they are the topic's own (set at creation) or inherited from the brokers.
struct TopicFacts {
  int partitions = 0;
  int fewest_replicas = 0;
  std::string min_insync_replicas;
  bool min_insync_replicas_is_topic_config = false;
  std::string unclean_leader_election;
};

Result<TopicFacts> Inspect(const BusOptions& bus) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bus.brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) return Unavailable(err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> handle(rk, rd_kafka_destroy);
  TopicFacts facts;
  // A topic just created may not be in every broker's metadata yet (no partitions, or an error
  // on the topic): ask until it is, for up to 15 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, bus.topic.c_str(), nullptr);
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10'000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_destroy(rkt);
      return Unavailable(rd_kafka_err2str(e));
    }
    bool known = false;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
      const rd_kafka_metadata_topic_t& t = md->topics[0];
      known = true;
      facts.partitions = t.partition_cnt;
      facts.fewest_replicas = 1'000;
      for (int p = 0; p < t.partition_cnt; ++p) {
        facts.fewest_replicas = std::min(facts.fewest_replicas, t.partitions[p].replica_cnt);
      }
    }
    rd_kafka_metadata_destroy(md);
    if (known || std::chrono::steady_clock::now() > deadline) break;
    rd_kafka_poll(rk, 100);  // the retry's pause, serving the handle meanwhile
  }
  rd_kafka_topic_destroy(rkt);

  rd_kafka_ConfigResource_t* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, bus.topic.c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, &resource, 1, nullptr, q);
  rd_kafka_ConfigResource_destroy(resource);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15'000);
  Status st;
  if (ev == nullptr) {
    st = Unavailable("no answer to DescribeConfigs");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = Unavailable(rd_kafka_event_error_string(ev));
  } else {
    std::size_t n = 0;
    const rd_kafka_ConfigResource_t** resources =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    for (std::size_t r = 0; r < n; ++r) {
      std::size_t entries_n = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[r], &entries_n);
      for (std::size_t i = 0; i < entries_n; ++i) {
        const std::string name = rd_kafka_ConfigEntry_name(entries[i]);
        const char* value = rd_kafka_ConfigEntry_value(entries[i]);
        if (name == "min.insync.replicas") {
          facts.min_insync_replicas = value ? value : "";
          facts.min_insync_replicas_is_topic_config =
              rd_kafka_ConfigEntry_source(entries[i]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
        } else if (name == "unclean.leader.election.enable") {
          facts.unclean_leader_election = value ? value : "";
        }
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  RETURN_IF_ERROR(st);
  return facts;
}

TEST(KafkaCluster, ATopicOnThreeBrokersHasThreeReplicasAndNeedsTwoInSync) {
  auto cluster = testing::TestKafkaCluster::Find();
  ASSERT_TRUE(cluster);
  const BusOptions bus = FreshBus(*cluster);
  ASSERT_TRUE(EnsureTopic(bus).ok());
  auto facts = Inspect(bus);
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  EXPECT_EQ(facts->partitions, 6);
  EXPECT_EQ(facts->fewest_replicas, 3);
  EXPECT_EQ(facts->min_insync_replicas, "2");
  // The topic's own setting, not the cluster's default (which is 1 on a stock broker).
  EXPECT_TRUE(facts->min_insync_replicas_is_topic_config);
  EXPECT_EQ(facts->unclean_leader_election, "false");
}

// The events the brokers acknowledged, in the order of their acknowledgements; the publishing
// thread adds, the test's thread waits.
class Acknowledged {
 public:
  void Add(const std::vector<RecordedEvent>& batch) {
    MutexLock lock(mu_);
    for (const RecordedEvent& e : batch) ids_.insert(e.event_id);
    times_.push_back(Clock::now());
    changed_.SignalAll();
  }
  bool WaitFor(std::size_t n, Clock::time_point deadline) {
    MutexLock lock(mu_);
    while (ids_.size() < n) {
      if (!changed_.WaitUntil(mu_, deadline) && ids_.size() < n) return false;
    }
    return true;
  }
  std::size_t count() {
    MutexLock lock(mu_);
    return ids_.size();
  }
  std::set<Uuid> ids() {
    MutexLock lock(mu_);
    return ids_;
  }
  // The longest wait between two acknowledgements, the later one at or after `since`.
  Clock::duration LongestGapEndingAfter(Clock::time_point since) {
    MutexLock lock(mu_);
    Clock::duration longest{};
    for (std::size_t i = 1; i < times_.size(); ++i) {
      if (times_[i] >= since) longest = std::max(longest, times_[i] - times_[i - 1]);
    }
    return longest;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  std::set<Uuid> ids_ GUARDED_BY(mu_);
  std::vector<Clock::time_point> times_ GUARDED_BY(mu_);  // one per batch
};

// What a consumer group read: the event ids, and each stream's versions in arrival order.
class Seen {
 public:
  consumer::Handler Handler() {
    return consumer::Synchronous([this](const RecordedEvent& e) {
      MutexLock lock(mu_);
      ids_.insert(e.event_id);
      versions_[e.stream].push_back(e.version.value());
      changed_.SignalAll();
      return Status::Ok();
    });
  }
  // Waits until `n` distinct events arrived.
  bool WaitFor(std::size_t n, Clock::time_point deadline) {
    MutexLock lock(mu_);
    while (ids_.size() < n) {
      if (!changed_.WaitUntil(mu_, deadline) && ids_.size() < n) return false;
    }
    return true;
  }
  // Waits until every event of `expected` arrived (others may come too: a batch that was never
  // acknowledged can still have reached the topic).
  bool WaitForAll(const std::set<Uuid>& expected, Clock::time_point deadline) {
    MutexLock lock(mu_);
    while (ids_.size() < expected.size() || MissingLocked(expected) > 0) {
      if (!changed_.WaitUntil(mu_, deadline)) return MissingLocked(expected) == 0;
    }
    return true;
  }
  // How many of `expected` never arrived.
  std::size_t Missing(const std::set<Uuid>& expected) {
    MutexLock lock(mu_);
    return MissingLocked(expected);
  }
  // Streams whose events came out of order. At least once: a version may come again (a batch
  // the publisher sent twice, a redelivery), but a new one is always the next.
  std::vector<std::string> OutOfOrder() {
    MutexLock lock(mu_);
    std::vector<std::string> bad;
    for (const auto& [stream, versions] : versions_) {
      std::uint64_t highest = 0;
      for (std::uint64_t v : versions) {
        if (v > highest + 1) {
          bad.push_back(stream + " went from " + std::to_string(highest) + " to " + std::to_string(v));
          break;
        }
        highest = std::max(highest, v);
      }
    }
    return bad;
  }

 private:
  std::size_t MissingLocked(const std::set<Uuid>& expected) REQUIRES(mu_) {
    std::size_t missing = 0;
    for (const Uuid& id : expected) missing += ids_.contains(id) ? 0 : 1;
    return missing;
  }

  Mutex mu_;
  CondVar changed_;
  std::set<Uuid> ids_ GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::uint64_t>> versions_ GUARDED_BY(mu_);
};

// The next batch: two events of each stream, numbered on from `versions`.
std::vector<RecordedEvent> NextBatch(std::map<std::string, std::uint64_t>& versions, std::uint64_t& position) {
  std::vector<RecordedEvent> batch(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    RecordedEvent& e = batch[i];
    e.event_id = Uuid::V7();
    e.stream = "s" + std::to_string(i % kStreams);
    e.version = StreamVersion(++versions[e.stream]);
    e.position = Position(++position);
    e.type = "Happened";
    e.timestamp_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    e.payload = std::string(200, 'x');
  }
  return batch;
}

// Starts the killed node again when the test ends, whatever its outcome: the next test gets three
// brokers.
struct RestartAtEnd {
  const testing::TestKafkaCluster& cluster;
  int node;
  ~RestartAtEnd() {
    const auto start = Clock::now();
    const Status st = cluster.Restart(node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::cout << "node " << node << " back in " << std::chrono::duration<double>(Clock::now() - start).count()
              << " s\n";
  }
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(KafkaCluster, EveryAcknowledgedEventSurvivesTheLossOfTheBrokerLeadingMostPartitions) {
  auto cluster = testing::TestKafkaCluster::Find();
  ASSERT_TRUE(cluster);
  const BusOptions bus = FreshBus(*cluster);
  ASSERT_TRUE(EnsureTopic(bus).ok());
  // A group that follows the topic through the failover. Started first, so that the group
  // offsets topic exists (three replicas) before a broker dies.
  Seen follower_seen;
  auto follower = BusConsumer::Start({bus, "follower", 2}, follower_seen.Handler());
  ASSERT_TRUE(follower.ok()) << follower.status().ToString();
  auto publisher = Publisher::Open(bus);
  ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();

  const auto started = Clock::now();
  Acknowledged acked;
  std::atomic<int> failed_publishes{0};
  Status publishing_error;  // the publishing thread's, read after it joined
  std::jthread publishing([&](std::stop_token stop) {
    std::map<std::string, std::uint64_t> versions;
    std::uint64_t position = 0;
    while (!stop.stop_requested()) {
      const std::vector<RecordedEvent> batch = NextBatch(versions, position);
      // A publish that fails (a broker died under it, the election is not over) is sent again,
      // the same events: consumers tolerate duplicates, never gaps. Only acknowledged ones count.
      const auto give_up = Clock::now() + 90s;
      Status st;
      while (!(st = (*publisher)->Publish(batch)).ok()) {
        failed_publishes.fetch_add(1);
        if (Clock::now() > give_up) publishing_error = st;
        if (Clock::now() > give_up || stop.stop_requested()) return;
      }
      acked.Add(batch);
    }
  });

  ASSERT_TRUE(acked.WaitFor(kBeforeKill, Clock::now() + 60s)) << acked.count();
  ASSERT_TRUE(follower_seen.WaitFor(1, Clock::now() + 60s)) << "the follower read nothing";
  auto leader = cluster->LeaderOfMost(bus.topic);
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  const std::size_t acked_at_kill = acked.count();
  const auto killed_at = Clock::now();
  ASSERT_TRUE(cluster->Kill(*leader).ok());
  RestartAtEnd restart{*cluster, *leader};
  const bool resumed = acked.WaitFor(acked_at_kill + kAfterKill, Clock::now() + 90s);
  publishing.request_stop();
  publishing.join();
  ASSERT_TRUE(resumed) << "publishing did not resume after the kill: " << acked.count() - acked_at_kill
                       << " acknowledged since; " << publishing_error.ToString();
  const auto published_at = Clock::now();
  const std::set<Uuid> expected = acked.ids();

  // A new group reads the whole topic from the two survivors.
  Seen audit_seen;
  auto audit = BusConsumer::Start({bus, "audit", 2}, audit_seen.Handler());
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  EXPECT_TRUE(audit_seen.WaitForAll(expected, Clock::now() + 60s));
  EXPECT_EQ(audit_seen.Missing(expected), 0u) << "acknowledged events lost, of " << expected.size();
  EXPECT_EQ(audit_seen.OutOfOrder(), std::vector<std::string>{});
  EXPECT_TRUE(follower_seen.WaitForAll(expected, Clock::now() + 60s));
  EXPECT_EQ(follower_seen.Missing(expected), 0u) << "the follower missed acknowledged events, of " << expected.size();
  EXPECT_EQ(follower_seen.OutOfOrder(), std::vector<std::string>{});
  EXPECT_TRUE((*follower)->status().ok()) << (*follower)->status().ToString();

  const double stall = Seconds(acked.LongestGapEndingAfter(killed_at));
  const double read_back = Seconds(Clock::now() - published_at);
  std::cout << "killed node " << *leader << " after " << acked_at_kill << " acknowledged events in "
            << Seconds(killed_at - started) << " s; " << expected.size() << " acknowledged in all; publishes stalled "
            << stall << " s at the kill; " << failed_publishes.load()
            << " publishes failed and were sent again; read back in " << read_back << " s\n";
  RecordProperty("killed_node", *leader);
  RecordProperty("acknowledged", static_cast<int>(expected.size()));
  RecordProperty("stall_ms", static_cast<int>(stall * 1000));
  RecordProperty("failed_publishes", failed_publishes.load());
}

}  // namespace
}  // namespace cqrs::kafka
