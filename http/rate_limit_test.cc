#include "http/rate_limit.h"

#include <gtest/gtest.h>

namespace adsd::http {
namespace {

using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;

TEST(RateLimiter, BurstThenRefusedWithRetryAfterThenRefilledAtTheRate) {
  RateLimiter limiter({RateLimit{2, 3}});
  const Clock::time_point t0 = Clock::now() + std::chrono::seconds(1);
  for (int i = 0; i < 3; ++i) {
    auto d = limiter.Admit(0, t0);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 3u);
    EXPECT_EQ(d.remaining, static_cast<std::uint64_t>(2 - i));
  }
  auto refused = limiter.Admit(0, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.retry_after_seconds, 1u);
  EXPECT_EQ(refused.reset_seconds, 2u);  // 3 tokens at 2 per second
  EXPECT_TRUE(limiter.Admit(0, t0 + milliseconds(500)).allowed) << "one token back after half a second";
  EXPECT_FALSE(limiter.Admit(0, t0 + milliseconds(500)).allowed);
  EXPECT_TRUE(limiter.Admit(0, t0 + milliseconds(10'000)).allowed) << "refilled, never beyond the burst";
  EXPECT_EQ(limiter.Admit(0, t0 + milliseconds(10'000)).remaining, 1u);
}

TEST(RateLimiter, EachKeyHasItsOwnBucket) {
  RateLimiter limiter({RateLimit{1, 1}, RateLimit{1, 1}, RateLimit{}});
  const Clock::time_point t0 = Clock::now() + std::chrono::seconds(1);
  EXPECT_TRUE(limiter.Admit(0, t0).allowed);
  EXPECT_FALSE(limiter.Admit(0, t0).allowed);
  EXPECT_TRUE(limiter.Admit(1, t0).allowed) << "key 0 being empty does not touch key 1";
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Admit(2, t0).allowed) << "unlimited";
  EXPECT_FALSE(limiter.Admit(2, t0).limited);
  EXPECT_TRUE(limiter.Admit(99, t0).allowed) << "an unknown key is not limited here";
}

TEST(RateLimiter, TooManyRequestsIsAProblemWithRetryAfterAndRateLimitHeaders) {
  RateLimiter limiter({RateLimit{0.5, 1}});
  const Clock::time_point t0 = Clock::now() + std::chrono::seconds(1);
  ASSERT_TRUE(limiter.Admit(0, t0).allowed);
  const Response r = TooManyRequests(limiter.Admit(0, t0));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.content_type, "application/problem+json");
  auto header = [&](std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(header("Retry-After"), "2");
  EXPECT_EQ(header("RateLimit-Limit"), "1");
  EXPECT_EQ(header("RateLimit-Remaining"), "0");
  EXPECT_EQ(header("RateLimit-Reset"), "2");
}

}  // namespace
}  // namespace adsd::http
