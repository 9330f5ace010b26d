// Calling another service without making its bad day ours: retries with capped, jittered
// exponential backoff, and a circuit breaker that stops calling a service that keeps failing.
//
// CircuitBreaker: closed (calls go through) → after `failure_threshold` failures in a row, open
// (calls fail fast) → after `open_for`, half-open (one trial call) → closed on success, open again
// on failure. Thread-safe. The clock is injectable so tests need no sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <random>

#include "cqrs/core/mutex.h"

namespace adsd::http {

class CircuitBreaker {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    int failure_threshold = 5;
    std::chrono::milliseconds open_for{5000};
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(
      Options options, Clock clock = [] { return std::chrono::steady_clock::now(); })
      : options_(options), clock_(std::move(clock)) {}

  // Whether a call may go out now. In half-open, only one trial at a time.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  State state();

 private:
  const Options options_;
  const Clock clock_;
  cqrs::Mutex mu_;
  State state_ GUARDED_BY(mu_) = State::kClosed;
  int failures_ GUARDED_BY(mu_) = 0;
  bool trial_in_flight_ GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point opened_at_ GUARDED_BY(mu_){};
};

struct RetryPolicy {
  int attempts = 3;                            // calls in all, first one included
  std::chrono::milliseconds base_backoff{50};  // before the 2nd call; doubled each time
  std::chrono::milliseconds max_backoff{2000};
  double jitter = 0.2;  // ± this share, so clients do not retry in step

  // The pause before call number `attempt` (2, 3, …).
  std::chrono::milliseconds Backoff(int attempt, std::mt19937& rng) const;
};

}  // namespace adsd::http
