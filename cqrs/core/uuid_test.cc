#include "cqrs/core/uuid.h"

#include <gtest/gtest.h>

#include <set>

namespace cqrs {
namespace {

TEST(Uuid, ParsesWhatItPrints) {
  Uuid u = Uuid::V7();
  auto parsed = Uuid::Parse(u.ToString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, u);
}

TEST(Uuid, ParseAcceptsUpperCaseAndRejectsMalformed) {
  EXPECT_TRUE(Uuid::Parse("0190F1C2-7A3B-7C4D-8E5F-0123456789AB").has_value());
  EXPECT_FALSE(Uuid::Parse("").has_value());
  EXPECT_FALSE(Uuid::Parse("0190f1c2-7a3b-7c4d-8e5f-0123456789a").has_value());
  EXPECT_FALSE(Uuid::Parse("0190f1c2x7a3b-7c4d-8e5f-0123456789ab").has_value());
  EXPECT_FALSE(Uuid::Parse("0190f1c2-7a3b-7c4d-8e5f-0123456789ag").has_value());
}

TEST(Uuid, V7HasVersionAndVariantBits) {
  Uuid u = Uuid::V7();
  EXPECT_EQ(u.bytes[6] >> 4, 7);
  EXPECT_EQ(u.bytes[8] >> 6, 2);
}

TEST(Uuid, V7IdsAreStrictlyIncreasing) {
  Uuid prev = Uuid::V7();
  for (int i = 0; i < 100000; ++i) {
    Uuid next = Uuid::V7();
    ASSERT_LT(prev, next);
    prev = next;
  }
}

TEST(Uuid, NilIsNil) {
  EXPECT_TRUE(Uuid::Nil().is_nil());
  EXPECT_FALSE(Uuid::V7().is_nil());
}

}  // namespace
}  // namespace cqrs
