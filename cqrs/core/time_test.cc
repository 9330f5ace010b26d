#include "cqrs/core/time.h"

#include <gtest/gtest.h>

#include <limits>

namespace cqrs {
namespace {

TEST(Rfc3339, FormatsUtcMicrosecondsAndParsesAnyOffset) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("1970-01-01t01:00:00.5+01:00"), 500'000);
  EXPECT_EQ(*ParseRfc3339("1969-12-31T19:00:00.1234567-05:00"), 123'456);
  EXPECT_EQ(*ParseRfc3339("2016-12-31T23:59:60Z"), *ParseRfc3339("2017-01-01T00:00:00Z"));
  for (TimestampUs t : {TimestampUs{0}, TimestampUs{-123'456'789}, TimestampUs{1'700'000'000'123'456},
                        TimestampUs{253'402'300'799'999'999}}) {
    EXPECT_EQ(*ParseRfc3339(FormatRfc3339(t)), t) << t;
  }
  for (const char* bad : {"", "1970-01-01", "1970-01-01T00:00:00", "1970-13-01T00:00:00Z", "2001-02-29T00:00:00Z",
                          "1970-01-01T24:00:00Z", "1970-01-01T00:00:00.Z", "1970-01-01T00:00:00+0100",
                          "1970-01-01T00:00:00Zjunk", "0000-01-01T00:00:00+00:01", "+970-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
  // Out of the years 0000-9999: clamped, so that what is written always reads back.
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<TimestampUs>::max()), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(std::numeric_limits<TimestampUs>::min()), "0000-01-01T00:00:00.000000Z");
}

TEST(Rfc3339, FormatsMillisecondsWhenAsked) {
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123'456, TimePrecision::kMillis), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatRfc3339(-1, TimePrecision::kMillis), "1969-12-31T23:59:59.999Z");
}

TEST(UtcDay, NamesTheDayAndReadsItBack) {
  EXPECT_EQ(UtcDay(0), "1970-01-01");
  EXPECT_EQ(UtcDay(-1), "1969-12-31");
  EXPECT_EQ(UtcDay(951'782'400'000'000), "2000-02-29");
  EXPECT_EQ(*ParseUtcDay("2000-02-29"), 951'782'400'000'000);
  for (const char* bad : {"", "2001-02-29", "2000-2-29", "2000-02-29T00:00:00Z", "2000-13-01", "20000-01-01"}) {
    EXPECT_FALSE(ParseUtcDay(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cqrs
