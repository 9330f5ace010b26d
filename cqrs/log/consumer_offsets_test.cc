#include "cqrs/log/consumer_offsets.h"

#include <gtest/gtest.h>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/log_test_util.h"

namespace cqrs::log {
namespace {

using cqrs::testing::TempDir;

TEST(ConsumerOffsets, CommitIsLoadedAfterReopen) {
  TempDir dir;
  {
    auto offsets = ConsumerOffsets::Open(dir.path());
    ASSERT_TRUE(offsets.ok());
    EXPECT_EQ((*offsets)->Load("validator"), Position(0));
    ASSERT_TRUE((*offsets)->Commit("validator", Position(41)).ok());
    ASSERT_TRUE((*offsets)->Commit("validator", Position(42)).ok());
    ASSERT_TRUE((*offsets)->Commit("read-model.v2", Position(7)).ok());
    EXPECT_EQ((*offsets)->Load("validator"), Position(42));
  }
  auto offsets = ConsumerOffsets::Open(dir.path());
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ((*offsets)->Load("validator"), Position(42));
  EXPECT_EQ((*offsets)->Load("read-model.v2"), Position(7));
}

TEST(ConsumerOffsets, BadGroupNamesAreRejected) {
  TempDir dir;
  auto offsets = ConsumerOffsets::Open(dir.path());
  for (const char* bad : {"", "a/b", "..", "has space", "ünï"}) {
    EXPECT_EQ((*offsets)->Commit(bad, Position(1)).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ((*offsets)->Commit(std::string(129, 'g'), Position(1)).code(), StatusCode::kInvalidArgument);
}

TEST(ConsumerOffsets, DamagedOffsetFileIsCorruption) {
  TempDir dir;
  {
    auto offsets = ConsumerOffsets::Open(dir.path());
    ASSERT_TRUE((*offsets)->Commit("g", Position(5)).ok());
  }
  std::string bytes = testing::ReadAllBytes(dir / "g.offset");
  bytes[0] ^= 1;
  testing::WriteAllBytes(dir / "g.offset", bytes);
  auto offsets = ConsumerOffsets::Open(dir.path());
  ASSERT_FALSE(offsets.ok());
  EXPECT_EQ(offsets.status().code(), StatusCode::kCorruption);
}

TEST(ConsumerOffsets, LeftoverTemporaryFromAnInterruptedCommitIsIgnored) {
  TempDir dir;
  {
    auto offsets = ConsumerOffsets::Open(dir.path());
    ASSERT_TRUE((*offsets)->Commit("g", Position(5)).ok());
  }
  testing::WriteAllBytes(dir / "g.tmp", "half");
  auto offsets = ConsumerOffsets::Open(dir.path());
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ((*offsets)->Load("g"), Position(5));
}

}  // namespace
}  // namespace cqrs::log
