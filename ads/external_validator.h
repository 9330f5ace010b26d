// ExternalValidator: the paper's "call another API for detailed validation", over real HTTP.
//
// Each call has a timeout; failed calls (timeouts, connection errors, 5xx) are retried with capped,
// jittered exponential backoff; a circuit breaker stops calling a validator that keeps failing and
// lets one trial call through after a pause. When the validator cannot be asked, Validate answers
// kUnavailable and the caller keeps the ad pending (the consumer retries; the sync pipeline
// answers 503). Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "ads/ad.h"
#include "ads/rules/rules.h"
#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "http/client.h"
#include "http/resilience.h"

namespace adsd::ads {

struct ExternalValidatorOptions {
  std::string url;  // http://HOST:PORT/v1/validate
  std::chrono::milliseconds timeout{2000};
  http::RetryPolicy retry{};
  http::CircuitBreaker::Options breaker{};
};

class ExternalValidator {
 public:
  static cqrs::Result<std::unique_ptr<ExternalValidator>> Create(const ExternalValidatorOptions& options);

  // The external verdict's reasons (empty: approved). kUnavailable when it cannot be asked now.
  cqrs::Result<std::vector<Finding>> Validate(const Ad& ad, const std::string& retailer);

  http::CircuitBreaker::State breaker_state() { return breaker_.state(); }

 private:
  ExternalValidator(const ExternalValidatorOptions& o, http::Url url)
      : options_(o), client_(std::move(url)), breaker_(o.breaker) {}
  cqrs::Result<std::vector<Finding>> CallOnce(const std::string& body);

  const ExternalValidatorOptions options_;
  http::HttpClient client_;
  http::CircuitBreaker breaker_;
  cqrs::Mutex rng_mu_;
  std::mt19937 rng_ GUARDED_BY(rng_mu_){std::random_device{}()};
};

}  // namespace adsd::ads
