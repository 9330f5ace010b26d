// Topic generations against a real broker and PostgreSQL: a topic that holds events the store no
// longer has (here: the relay published store A, and store B stands for A gone back in time) is
// found by its newest events, refused or replaced by a new generation, and the relay publishes
// nothing to it.
#include "cqrs/kafka/generation.h"

#include <gtest/gtest.h>

#include "cqrs/core/testing/wait_until.h"
#include "cqrs/kafka/relay.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/store.h"

namespace cqrs::kafka {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::WaitUntil;

class TopicGenerationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_.brokers = cqrs::testing::TestKafkaBootstrap();
    bus_.topic = "t-" + Uuid::V7().ToString();
    bus_.partitions = 3;
    a_ = Open(url_a_);
    b_ = Open(url_b_);
    auto c = pg::Connection::Open(url_b_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    b_db_ = std::move(*c);
  }
  static std::unique_ptr<EventStore> Open(const std::string& url) {
    auto s = OpenPostgresEventStore({url});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  }
  static void Append(EventStore& store, int n) {
    for (int i = 0; i < n; ++i) {
      EventData e;
      e.event_id = Uuid::V7();
      e.type = "Happened";
      e.payload = std::to_string(i);
      ASSERT_TRUE(store.Append("s" + std::to_string(i % 4), ExpectedVersion::Any(), std::span(&e, 1)).ok());
    }
  }
  // Store A's events on the topic, as a relay publishes them.
  void PublishA(int n) {
    Append(*a_, n);
    auto relay = BusRelay::Start(*a_, {bus_, url_a_});
    ASSERT_TRUE(relay.ok()) << relay.status().ToString();
    ASSERT_TRUE(WaitUntil([&] { return (*relay)->published() == Position(n); }, 60s));
  }

  BusOptions bus_;
  std::string url_a_ = cqrs::testing::FreshPostgresDatabase();
  std::string url_b_ = cqrs::testing::FreshPostgresDatabase();
  std::unique_ptr<EventStore> a_, b_;
  std::unique_ptr<pg::Connection> b_db_;
};

TEST_F(TopicGenerationTest, ATopicHoldingEventsTheStoreNoLongerHasIsRefusedOrReplacedByANewGeneration) {
  PublishA(8);
  auto same = FindTopicAhead(bus_, *a_);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_FALSE(same->has_value()) << (*same)->Describe();

  Append(*b_, 3);
  auto ahead = FindTopicAhead(bus_, *b_);
  ASSERT_TRUE(ahead.ok()) << ahead.status().ToString();
  ASSERT_TRUE(ahead->has_value());
  const std::string described = (*ahead)->Describe();
  EXPECT_NE(described.find("topic " + bus_.topic + " holds events the event store no longer has: partition "),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("past the event store's head 3"), std::string::npos) << described;

  auto refused = SettleGeneration(*b_db_, *b_, bus_, AheadPolicy::kRefuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  auto current = CurrentGeneration(*b_db_, bus_.topic);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->number, 1);  // refused: nothing started
  EXPECT_EQ(current->topic, bus_.topic);

  auto started = SettleGeneration(*b_db_, *b_, bus_, AheadPolicy::kRepair);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_TRUE(started->started.has_value());
  EXPECT_EQ(started->generation.number, 2);
  EXPECT_EQ(started->generation.topic, bus_.topic + ".g2");
  EXPECT_EQ(started->generation.replayed_through, Position(3));
  current = CurrentGeneration(*b_db_, bus_.topic);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->topic, bus_.topic + ".g2");
  // Settled: a second start finds the new topic consistent and starts nothing.
  auto again = SettleGeneration(*b_db_, *b_, bus_, AheadPolicy::kRepair);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->started.has_value());
  EXPECT_EQ(again->generation.topic, bus_.topic + ".g2");

  // The relay: nothing to the old topic (no longer current), the store from position 1 to the new.
  RelayOptions old_topic{bus_, url_b_};
  old_topic.generation_base = bus_.topic;
  auto stale = BusRelay::Start(*b_, old_topic);
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(WaitUntil([&] { return !(*stale)->status().ok(); }, 30s));
  EXPECT_NE((*stale)->status().message().find("moved to topic generation 2"), std::string::npos)
      << (*stale)->status().ToString();
  EXPECT_FALSE((*stale)->leader());
  RelayOptions next{bus_, url_b_};
  next.bus.topic = bus_.topic + ".g2";
  next.name = "relay-g2";
  next.generation_base = bus_.topic;
  auto relay = BusRelay::Start(*b_, next);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*relay)->published() == Position(3); }, 60s)) << (*relay)->status().ToString();
}

TEST_F(TopicGenerationTest, TheRelayPublishesNothingToATopicAheadOfTheStore) {
  PublishA(6);
  Append(*b_, 2);
  RelayOptions o{bus_, url_b_};
  o.ahead_remedy = "do what the runbook says";
  auto relay = BusRelay::Start(*b_, o);
  ASSERT_TRUE(relay.ok());
  ASSERT_TRUE(WaitUntil([&] { return !(*relay)->status().ok(); }, 30s));
  const std::string msg = (*relay)->status().message();
  EXPECT_NE(msg.find("holds events the event store no longer has"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the relay publishes nothing to it; do what the runbook says"), std::string::npos) << msg;
  EXPECT_FALSE((*relay)->leader());
  EXPECT_EQ((*relay)->published(), Position(0));
}

}  // namespace
}  // namespace cqrs::kafka
