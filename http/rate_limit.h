// Per-key rate limits: one token bucket per API key.
//
// A key may make `burst` requests at once and `per_second` more every second after that; a
// request that finds its bucket empty is answered 429 at once, before any work is done for it,
// with Retry-After and the RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset headers of
// the IETF httpapi draft (docs/api.md); an admitted request's answer carries the same RateLimit-*
// headers (app/adsd/authorize.cc). Each key has its own bucket and its own lock, so one
// tenant's flood costs the others nothing but the CPU of turning it away.
//
// Thread-safety: Admit may be called from any thread; buckets are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cqrs/core/mutex.h"
#include "http/message.h"

namespace adsd::http {

struct RateLimit {
  double per_second = 0;  // <= 0: unlimited
  double burst = 0;       // bucket size (>= 1 when limited)
  bool unlimited() const { return per_second <= 0; }
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // One bucket per key, in the order of `limits`; every bucket starts full.
  explicit RateLimiter(const std::vector<RateLimit>& limits);

  struct Decision {
    bool allowed = true;
    bool limited = false;     // false for an unlimited key (no headers then)
    std::uint64_t limit = 0;  // the bucket size
    std::uint64_t remaining = 0;
    std::uint64_t reset_seconds = 0;        // until the bucket is full again
    std::uint64_t retry_after_seconds = 0;  // until one request is allowed (when refused)
  };
  // Takes one token from `key`'s bucket if it holds one. A key index out of range is unlimited.
  Decision Admit(std::size_t key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    RateLimit limit;
    cqrs::Mutex mu;
    double tokens GUARDED_BY(mu) = 0;
    Clock::time_point refilled GUARDED_BY(mu);
  };
  std::vector<std::unique_ptr<Bucket>> buckets_;  // fixed after construction
};

// The RateLimit-* headers for a decision (none for an unlimited key).
void AddRateLimitHeaders(Response& response, const RateLimiter::Decision& d);
// 429 problem+json with Retry-After and the RateLimit-* headers.
Response TooManyRequests(const RateLimiter::Decision& d);

}  // namespace adsd::http
