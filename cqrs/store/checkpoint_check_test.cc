// CheckCheckpoint against a real (embedded) store: a checkpoint is in the store only when the
// store holds the very event it names, by position and hash.
#include "cqrs/store/checkpoint_check.h"

#include <gtest/gtest.h>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/store/embedded_store.h"

namespace cqrs {
namespace {

class CheckpointCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedEventStore({temp_.path() / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    for (int i = 0; i < 3; ++i) {
      EventData e;
      e.event_id = Uuid::V7();
      e.type = "Happened";
      e.payload = std::to_string(i);
      ASSERT_TRUE(store_->Append("s", ExpectedVersion::Any(), std::span(&e, 1)).ok());
    }
  }
  Sha256Digest HashAt(std::uint64_t p) {
    auto events = store_->ReadAll(Position(p), 1);
    EXPECT_TRUE(events.ok() && !events->empty());
    return events->front().hash;
  }
  CheckpointCheck Check(ConsumerCheckpoint cp) {
    auto c = CheckCheckpoint(*store_, cp);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }

  cqrs::testing::TempDir temp_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(CheckpointCheckTest, TheSameEventAtTheSamePositionIsInTheStore) {
  EXPECT_EQ(Check({Position(2), HashAt(2)}).state, CheckpointState::kInStore);
  EXPECT_EQ(Check({Position(3), HashAt(3)}).state, CheckpointState::kInStore);
  EXPECT_EQ(Check({Position(0), std::nullopt}).state, CheckpointState::kInStore);  // nothing applied yet
}

TEST_F(CheckpointCheckTest, APositionPastTheHeadIsAhead) {
  const CheckpointCheck c = Check({Position(5), HashAt(3)});
  EXPECT_EQ(c.state, CheckpointState::kPastHead);
  EXPECT_TRUE(c.ahead());
  EXPECT_EQ(c.head, Position(3));
  EXPECT_EQ(c.Describe(), "is at position 5, past the event store's head 3");
  // Without a hash (a checkpoint from before hashes were recorded) the position still tells.
  EXPECT_EQ(Check({Position(4), std::nullopt}).state, CheckpointState::kPastHead);
}

TEST_F(CheckpointCheckTest, AnotherEventAtThePositionIsAhead) {
  const CheckpointCheck c = Check({Position(2), HashAt(1)});
  EXPECT_EQ(c.state, CheckpointState::kOtherEvent);
  ASSERT_TRUE(c.store_hash.has_value());
  EXPECT_EQ(*c.store_hash, HashAt(2));
  EXPECT_NE(c.Describe().find("where the event store now holds another event (hash " + ToHex(HashAt(2)).substr(0, 16)),
            std::string::npos)
      << c.Describe();
  // Without a hash it cannot be told: the position is all there is to hold against the store.
  EXPECT_EQ(Check({Position(2), std::nullopt}).state, CheckpointState::kInStore);
}

}  // namespace
}  // namespace cqrs
