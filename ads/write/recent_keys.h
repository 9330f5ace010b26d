// RecentKeys: the Idempotency-Keys this process published lately and their request hashes, for
// the optimized pipeline on the bus, which answers before the store has the submission.
//
// The store recognizes a retry once the submission is stored (ads/write/idempotency.h); between
// the answer and that moment (normally milliseconds), only this process knows the key was used.
// A retry or a reuse reaching the same process in that window is told apart here; one reaching
// another process is told apart once stored (docs/api.md, "Idempotency on the bus").
//
// Bounded: entries older than `ttl` are dropped, and past `capacity` the oldest go first.
// Thread-safety: all methods from any thread.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <unordered_map>

#include "cqrs/core/mutex.h"

namespace adsd::ads {

class RecentKeys {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RecentKeys(std::size_t capacity = 100'000, std::chrono::seconds ttl = std::chrono::minutes(10))
      : capacity_(capacity), ttl_(ttl) {}

  enum class Seen { kNew, kSameRequest, kOtherRequest };
  // Records `ad_id` (the key's ad) with `request_hash` unless it is there; says what was there.
  // A publish that failed stays recorded: it may have reached the bus all the same.
  Seen Remember(const std::string& ad_id, const std::string& request_hash) EXCLUDES(mu_);

 private:
  struct Entry {
    std::string request_hash;
    Clock::time_point at;
  };
  void Expire(Clock::time_point now) REQUIRES(mu_);

  const std::size_t capacity_;
  const std::chrono::seconds ttl_;
  cqrs::Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::deque<std::pair<Clock::time_point, std::string>> order_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace adsd::ads
