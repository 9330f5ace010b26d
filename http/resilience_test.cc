#include "http/resilience.h"

#include <gtest/gtest.h>

namespace adsd::http {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  CircuitBreaker::Clock fn() {
    return [this] { return now; };
  }
};

TEST(CircuitBreaker, OpensAfterThresholdFailuresAndFailsFast) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 3, .open_for = 1000ms}, clock.fn());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.RecordFailure();
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow());
  clock.now += 999ms;
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialThroughThenClosesOrReopens) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 1, .open_for = 100ms}, clock.fn());
  b.RecordFailure();
  clock.now += 100ms;
  EXPECT_TRUE(b.Allow());   // the trial
  EXPECT_FALSE(b.Allow());  // only one at a time
  b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  clock.now += 100ms;
  EXPECT_TRUE(b.Allow());
  b.RecordSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreaker, SuccessResetsTheFailureCount) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 2, .open_for = 100ms}, clock.fn());
  b.RecordFailure();
  b.RecordSuccess();
  b.RecordFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
}

TEST(RetryPolicy, BackoffDoublesWithJitterUpToTheCap) {
  RetryPolicy p{.attempts = 10, .base_backoff = 100ms, .max_backoff = 1000ms, .jitter = 0.2};
  std::mt19937 rng(1);
  for (int i = 0; i < 100; ++i) {
    const auto b2 = p.Backoff(2, rng), b3 = p.Backoff(3, rng), b9 = p.Backoff(9, rng);
    EXPECT_GE(b2.count(), 80);
    EXPECT_LE(b2.count(), 120);
    EXPECT_GE(b3.count(), 160);
    EXPECT_LE(b3.count(), 240);
    EXPECT_LE(b9.count(), 1200);
    EXPECT_GE(b9.count(), 800);
  }
}

}  // namespace
}  // namespace adsd::http
