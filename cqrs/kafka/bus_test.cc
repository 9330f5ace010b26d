// The bus against a real broker and a real PostgreSQL: relay from the store to the topic, a
// consumer group sharing partitions, order per stream, commits, hand-over between members and
// between relays.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "cqrs/core/testing/wait_until.h"
#include "cqrs/kafka/async_publisher.h"
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/relay.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/store.h"

namespace cqrs::kafka {
namespace {

using namespace std::chrono_literals;

BusOptions FreshBus(int partitions = 4) {
  BusOptions b;
  b.brokers = testing::TestKafkaBootstrap();
  b.topic = "t-" + Uuid::V7().ToString();
  b.partitions = partitions;
  return b;
}

void AppendMany(EventStore& store, int streams, int per_stream) {
  for (int i = 0; i < per_stream; ++i) {
    for (int s = 0; s < streams; ++s) {
      EventData e;
      e.event_id = Uuid::V7();
      e.type = "Happened";
      e.payload = std::to_string(i);
      ASSERT_TRUE(store.Append("s" + std::to_string(s), ExpectedVersion::Any(), std::span(&e, 1)).ok());
    }
  }
}

// What a group of consumers saw: each stream's versions in arrival order.
struct Seen {
  std::mutex mu;
  std::map<std::string, std::vector<std::uint64_t>> versions;
  std::size_t total = 0;
  consumer::Handler Handler() {
    return consumer::Synchronous([this](const RecordedEvent& e) {
      std::lock_guard lock(mu);
      versions[e.stream].push_back(e.version.value());
      ++total;
      return Status::Ok();
    });
  }
  bool WaitFor(std::size_t n, std::chrono::seconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (total >= n) return true;
      }
      std::this_thread::sleep_for(20ms);  // polling a test's own counter; the deadline bounds it
    }
    return false;
  }
};

std::unique_ptr<EventStore> OpenStore(const std::string& url) {
  auto s = OpenPostgresEventStore({url});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(*s);
}

TEST(Bus, RelayPublishesTheStoreAndAGroupConsumesEachStreamInOrder) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  AppendMany(*store, 10, 20);  // before the relay starts: it must catch up from its checkpoint
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  Seen seen;
  auto a = BusConsumer::Start({bus, "g", 4}, seen.Handler());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = BusConsumer::Start({bus, "g", 4}, seen.Handler());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  AppendMany(*store, 10, 20);  // and follow new events
  ASSERT_TRUE(seen.WaitFor(400, 60s)) << seen.total;
  std::lock_guard lock(seen.mu);
  ASSERT_EQ(seen.versions.size(), 10u);
  for (const auto& [stream, versions] : seen.versions) {
    // At least once: a version may come twice after a hand-over, never out of order.
    std::uint64_t highest = 0;
    std::set<std::uint64_t> distinct;
    for (std::uint64_t v : versions) {
      if (v > highest) {
        EXPECT_EQ(v, highest + 1) << stream << " skipped a version";
      }
      highest = std::max(highest, v);
      distinct.insert(v);
    }
    EXPECT_EQ(distinct.size(), 40u) << stream;
  }
  // The relay stores its checkpoint after the brokers acknowledged the batch, so consumers can
  // see the last events before published() moves: wait for it, bounded.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((*relay)->published() < Position(400) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // between polls of another thread's progress
  }
  EXPECT_EQ((*relay)->published(), Position(400));
}

TEST(Bus, ALeavingMemberHandsItsPartitionsOverAtItsCommits) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok());
  Seen first, second;
  auto a = BusConsumer::Start({bus, "g", 2}, first.Handler());
  ASSERT_TRUE(a.ok());
  AppendMany(*store, 8, 10);
  ASSERT_TRUE(first.WaitFor(80, 60s));
  a->reset();  // leaves the group after committing everything it handled
  auto b = BusConsumer::Start({bus, "g", 2}, second.Handler());
  ASSERT_TRUE(b.ok());
  AppendMany(*store, 8, 10);
  ASSERT_TRUE(second.WaitFor(80, 60s));
  EXPECT_TRUE(second.WaitFor(81, 1s) == false) << "the new member got events the old one had committed";
  std::lock_guard lock(second.mu);
  for (const auto& [stream, versions] : second.versions) EXPECT_EQ(versions.front(), 11u) << stream;
}

TEST(Bus, OneRelayLeadsAndTheOtherTakesOverFromItsCheckpoint) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  Seen seen;
  auto consumer = BusConsumer::Start({bus, "g", 1}, seen.Handler());
  ASSERT_TRUE(consumer.ok());
  auto one = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(one.ok());
  AppendMany(*store, 2, 10);
  ASSERT_TRUE(seen.WaitFor(20, 60s));
  auto two = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(two.ok());
  // The second waits: the first holds the lock.
  std::this_thread::sleep_for(700ms);  // longer than the follower's retry; asserts an absence
  EXPECT_TRUE((*one)->leader());
  EXPECT_FALSE((*two)->leader());
  one->reset();  // its connection closes: the lock goes to the other
  AppendMany(*store, 2, 10);
  ASSERT_TRUE(seen.WaitFor(40, 60s));
  EXPECT_TRUE((*two)->leader());
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.total, 40u) << "the second relay started where the first had checkpointed";
}

// A member's lanes handle different streams at once: 4 lanes, 40 events of 20 ms each.
TEST(Bus, AMembersLanesHandleDifferentStreamsAtOnce) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  AppendMany(*store, 40, 1);
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok());
  std::atomic<int> running{0}, most{0}, handled{0};
  auto member = BusConsumer::Start({bus, "g", 4}, consumer::Synchronous([&](const RecordedEvent&) {
                                     const int now = running.fetch_add(1) + 1;
                                     for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
                                     }
                                     std::this_thread::sleep_for(20ms);  // a handler that takes time (an external call)
                                     running.fetch_sub(1);
                                     handled.fetch_add(1);
                                     return Status::Ok();
                                   }));
  ASSERT_TRUE(member.ok());
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (handled.load() < 40 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(handled.load(), 40);
  EXPECT_EQ(most.load(), 4);
}

// The framework's retry policy on the bus: a transient error is retried (the stream's later
// events wait for it), and what settled is committed per partition for the next member.
TEST(Bus, ATransientErrorIsRetriedInOrderAndTheNextMemberStartsAfterTheCommit) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok());
  AppendMany(*store, 4, 5);
  std::atomic<int> failures{0};
  Seen seen;
  ConsumerOptions options{bus, "g", 2};
  options.retry = {.first = 5ms, .max = 20ms};
  auto first = BusConsumer::Start(options, [&](const RecordedEvent& e, consumer::Completion done) {
    // The first event of s0 fails three times, as an unavailable validator would.
    if (e.stream == "s0" && e.version == StreamVersion(1) && failures.fetch_add(1) < 3) {
      return done(Unavailable("validator down"));
    }
    seen.Handler()(e, std::move(done));
  });
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(seen.WaitFor(20, 60s));
  EXPECT_EQ(failures.load(), 4);
  EXPECT_TRUE((*first)->status().ok());
  {
    std::lock_guard lock(seen.mu);
    EXPECT_EQ(seen.versions["s0"], (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  }
  first->reset();  // commits synchronously and leaves
  Seen next;
  auto second = BusConsumer::Start({bus, "g", 2}, next.Handler());
  ASSERT_TRUE(second.ok());
  AppendMany(*store, 4, 1);
  ASSERT_TRUE(next.WaitFor(4, 60s));
  EXPECT_FALSE(next.WaitFor(5, 1s)) << "the next member got events the first had committed";
}

// A fatal error of the idempotent producer (as a broker's "out of order sequence number" after a
// leader change raises it) left the publisher refusing every message for good: a write process
// answered 503 to every submission until restarted. Now the producer is replaced; every message
// handed over is answered (acknowledged, or kUnavailable if the old producer held it), and later
// ones are acknowledged.
TEST(Bus, AnAsyncPublisherWhoseProducerFailsForGoodReplacesItAndGoesOn) {
  BusOptions bus = FreshBus(2);
  ASSERT_TRUE(EnsureTopic(bus).ok());
  auto publisher = AsyncPublisher::Open(bus, bus.topic);
  ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();
  std::atomic<int> answered{0}, acknowledged{0};
  auto send = [&](int i) {
    BusMessage m;
    m.key = "s" + std::to_string(i % 5);
    m.value = "v" + std::to_string(i);
    (*publisher)->Send(m, [&](Status st) {
      if (st.ok()) acknowledged.fetch_add(1);
      answered.fetch_add(1);
    });
  };
  send(0);
  ASSERT_TRUE(testing::WaitUntil([&] { return acknowledged.load() == 1; }, 30s));

  (*publisher)->InjectFatalErrorForTesting();
  for (int i = 1; i <= 50; ++i) send(i);  // refused, or held by the old producer: each answered
  ASSERT_TRUE(testing::WaitUntil([&] { return (*publisher)->replaced() == 1; }, 10s));
  ASSERT_TRUE(testing::WaitUntil([&] { return answered.load() == 51; }, 10s)) << answered.load() << " answered";

  const int before = acknowledged.load();
  for (int i = 51; i <= 60; ++i) send(i);
  ASSERT_TRUE(testing::WaitUntil([&] { return answered.load() == 61; }, 30s));
  EXPECT_EQ(acknowledged.load(), before + 10) << "the new producer refused messages";
  EXPECT_EQ((*publisher)->in_flight(), 0u);
}

}  // namespace
}  // namespace cqrs::kafka
