#include "http/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "http/problem.h"

namespace adsd::http {

RateLimiter::RateLimiter(const std::vector<RateLimit>& limits) {
  const Clock::time_point now = Clock::now();
  buckets_.reserve(limits.size());
  for (const RateLimit& l : limits) {
    auto b = std::make_unique<Bucket>();
    b->limit = l;
    b->tokens = l.burst;
    b->refilled = now;
    buckets_.push_back(std::move(b));
  }
}

RateLimiter::Decision RateLimiter::Admit(std::size_t key, Clock::time_point now) {
  Decision d;
  if (key >= buckets_.size() || buckets_[key]->limit.unlimited()) return d;
  Bucket& b = *buckets_[key];
  const double rate = b.limit.per_second, burst = b.limit.burst;
  cqrs::MutexLock lock(b.mu);
  if (now > b.refilled) {
    b.tokens = std::min(burst, b.tokens + std::chrono::duration<double>(now - b.refilled).count() * rate);
    b.refilled = now;
  }
  d.limited = true;
  d.allowed = b.tokens >= 1;
  if (d.allowed) b.tokens -= 1;
  d.limit = static_cast<std::uint64_t>(burst);
  d.remaining = static_cast<std::uint64_t>(std::max(0.0, std::floor(b.tokens)));
  d.reset_seconds = static_cast<std::uint64_t>(std::ceil((burst - b.tokens) / rate));
  // Whole seconds, rounded up (Retry-After has no fractions), and at least one.
  d.retry_after_seconds =
      d.allowed ? 0 : std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil((1 - b.tokens) / rate)));
  return d;
}

void AddRateLimitHeaders(Response& r, const RateLimiter::Decision& d) {
  if (!d.limited) return;
  r.headers.emplace_back("RateLimit-Limit", std::to_string(d.limit));
  r.headers.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
  r.headers.emplace_back("RateLimit-Reset", std::to_string(d.reset_seconds));
}

Response TooManyRequests(const RateLimiter::Decision& d) {
  Response r = Problem(
      429, "rate-limited", "Too many requests",
      "this API key's request rate is over its limit; retry after " + std::to_string(d.retry_after_seconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(d.retry_after_seconds));
  AddRateLimitHeaders(r, d);
  return r;
}

}  // namespace adsd::http
