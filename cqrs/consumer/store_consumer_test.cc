#include "cqrs/consumer/store_consumer.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/store/embedded_store.h"

namespace cqrs::consumer {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class StoreConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedEventStore({dir_.path() / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto offsets = log::ConsumerOffsets::Open(dir_.path() / "offsets");
    ASSERT_TRUE(offsets.ok());
    offsets_ = std::move(*offsets);
  }

  void Append(int streams, int per_stream) {
    for (int i = 0; i < per_stream; ++i) {
      for (int s = 0; s < streams; ++s) {
        EventData e;
        e.event_id = Uuid::V7();
        e.type = "Happened";
        ASSERT_TRUE(store_->Append("s" + std::to_string(s), ExpectedVersion::Any(), std::span(&e, 1)).ok());
      }
    }
  }

  static bool Reaches(const StoreConsumer& c, Position p) {
    const auto deadline = Clock::now() + 30s;
    while (c.position() < p && Clock::now() < deadline) std::this_thread::sleep_for(1ms);  // polling
    return c.position() >= p;
  }

  StoreConsumerOptions Options(int lanes = 4) {
    StoreConsumerOptions o;
    o.group = "test-group";
    o.dispatch.lanes = lanes;
    o.dispatch.max_in_flight = 64;
    o.commit_every = 5ms;
    return o;
  }

  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<log::ConsumerOffsets> offsets_;
};

TEST_F(StoreConsumerTest, EventsAnEarlierRunMayHaveHandledAreRepeatsAndNewOnesAreFirst) {
  Append(2, 5);  // positions 1-10
  ASSERT_TRUE(offsets_->Commit("test-group", Position(4)).ok());
  std::mutex mu;
  std::map<std::uint64_t, Delivery> seen;  // position -> delivery
  auto c = StoreConsumer::Start(*store_, *offsets_,
                                DeliveryHandler([&](const RecordedEvent& e, Delivery d, Completion done) {
                                  {
                                    std::lock_guard lock(mu);
                                    seen[e.position.value()] = d;
                                  }
                                  done(Status::Ok());
                                }),
                                Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(Reaches(**c, Position(10)));
  Append(2, 2);  // positions 11-14: appended after the start, nobody can have handled them
  ASSERT_TRUE(Reaches(**c, Position(14)));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 10u);  // 5-14: the committed ones are not redelivered
  for (const auto& [position, delivery] : seen) {
    EXPECT_EQ(delivery, position <= 10 ? Delivery::kMaybeRepeated : Delivery::kFirst) << position;
  }
}

TEST_F(StoreConsumerTest, CommitsWhatIsSettledAndARestartResumesAfterIt) {
  Append(5, 10);
  std::mutex mu;
  std::set<std::uint64_t> seen;
  auto record = [&](const RecordedEvent& e, Completion done) {
    {
      std::lock_guard lock(mu);
      seen.insert(e.position.value());
    }
    // Settled from another thread, as a store callback would.
    std::thread([done] { done(Status::Ok()); }).detach();
  };
  {
    auto c = StoreConsumer::Start(*store_, *offsets_, record, Options());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ((*c)->started_at(), Position(0));
    ASSERT_TRUE(Reaches(**c, Position(50)));
    EXPECT_TRUE((*c)->status().ok());
  }  // the last commit is synchronous
  EXPECT_EQ(offsets_->Load("test-group"), Position(50));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.size(), 50u);
    seen.clear();
  }
  Append(1, 5);
  auto c = StoreConsumer::Start(*store_, *offsets_, record, Options());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->started_at(), Position(50));
  ASSERT_TRUE(Reaches(**c, Position(55)));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::set<std::uint64_t>{51, 52, 53, 54, 55})) << "a restart redid committed events";
}

TEST_F(StoreConsumerTest, APermanentErrorStopsAtItsEventWhichTheNextRunRedoes) {
  Append(4, 2);  // positions 1..8; position 3 is s2's first event
  {
    auto c = StoreConsumer::Start(*store_, *offsets_, Synchronous([](const RecordedEvent& e) {
      return e.position == Position(3) ? InvalidArgument("cannot judge") : Status::Ok();
    }),
                                  Options(1));
    ASSERT_TRUE(c.ok());
    const auto deadline = Clock::now() + 30s;
    while ((*c)->status().ok() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);  // polling
    EXPECT_EQ((*c)->status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*c)->position(), Position(2));
  }
  EXPECT_EQ(offsets_->Load("test-group"), Position(2));
  std::atomic<std::uint64_t> first{0};
  auto c = StoreConsumer::Start(*store_, *offsets_, Synchronous([&](const RecordedEvent& e) {
    std::uint64_t expected = 0;
    first.compare_exchange_strong(expected, e.position.value());
    return Status::Ok();
  }),
                                Options(1));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Reaches(**c, Position(8)));
  EXPECT_EQ(first.load(), 3u);
}

TEST_F(StoreConsumerTest, IgnoredEventsMoveThePositionWithoutTheHandler) {
  Append(2, 3);
  std::atomic<int> handled{0};
  StoreConsumerOptions o = Options();
  o.dispatch.filter = [](const RecordedEvent& e) { return e.stream == "s0"; };
  auto c = StoreConsumer::Start(*store_, *offsets_, Synchronous([&](const RecordedEvent&) {
    handled.fetch_add(1);
    return Status::Ok();
  }),
                                o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Reaches(**c, Position(6)));
  EXPECT_EQ(handled.load(), 3);
}

}  // namespace
}  // namespace cqrs::consumer
