#include "cqrs/store/postgres/announcer.h"

#include <gtest/gtest.h>

namespace cqrs {
namespace {

TEST(HeadNote, RunsOfConsecutiveSeqsAndPositionsRoundTrip) {
  // Two processes' rows numbered in one batch: seqs 10-12 and 20-21 at positions 5-9, and a
  // later batch's 30 at 11 (10 went to a row this process never saw).
  const std::vector<NumberedEvent> numbered = {{20, 8}, {10, 5}, {11, 6}, {12, 7}, {21, 9}, {30, 11}};
  const std::string payload = FormatHeadNote(11, numbered);
  EXPECT_EQ(payload, "11 10:5:3 20:8:2 30:11:1");
  const auto note = HeadNote::Parse(payload);
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->head, 11u);
  std::vector<NumberedEvent> sorted = numbered;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(note->numbered, sorted);
}

TEST(HeadNote, TooManyRunsForANotifyLeaveTheHeadAlone) {
  std::vector<NumberedEvent> scattered;
  for (std::int64_t i = 0; i < 2000; ++i) scattered.emplace_back(i * 2, static_cast<std::uint64_t>(i + 1));
  const std::string payload = FormatHeadNote(2000, scattered);
  EXPECT_EQ(payload, "2000");
  const auto note = HeadNote::Parse(payload);
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->head, 2000u);
  EXPECT_TRUE(note->numbered.empty());
}

TEST(HeadNote, APlainHeadAsEarlierReleasesSentItParses) {
  const auto note = HeadNote::Parse("42");
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->head, 42u);
  EXPECT_TRUE(note->numbered.empty());
}

TEST(HeadNote, MalformedPayloadsAreRefused) {
  for (const char* bad :
       {"", "x", "12 ", "12 1:2", "12 1:2:", "12 a:2:3", "12  1:2:3", "12 1:2:3x", "12 1:2:99999999999"}) {
    EXPECT_FALSE(HeadNote::Parse(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cqrs
