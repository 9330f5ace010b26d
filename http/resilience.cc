#include "http/resilience.h"

#include <algorithm>

namespace adsd::http {

bool CircuitBreaker::Allow() {
  cqrs::MutexLock lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_() - opened_at_ < options_.open_for) return false;
      state_ = State::kHalfOpen;
      trial_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (trial_in_flight_) return false;
      trial_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  cqrs::MutexLock lock(mu_);
  state_ = State::kClosed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::RecordFailure() {
  cqrs::MutexLock lock(mu_);
  trial_in_flight_ = false;
  if (state_ == State::kHalfOpen || ++failures_ >= options_.failure_threshold) {
    state_ = State::kOpen;
    opened_at_ = clock_();
  }
}

CircuitBreaker::State CircuitBreaker::state() {
  cqrs::MutexLock lock(mu_);
  return state_;
}

std::chrono::milliseconds RetryPolicy::Backoff(int attempt, std::mt19937& rng) const {
  double ms = static_cast<double>(base_backoff.count());
  for (int i = 2; i < attempt; ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(max_backoff.count()));
  std::uniform_real_distribution<double> spread(1.0 - jitter, 1.0 + jitter);
  return std::chrono::milliseconds(static_cast<long>(ms * spread(rng)));
}

}  // namespace adsd::http
