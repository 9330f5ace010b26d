#include "ads/external_validator.h"

#include <simdjson.h>

#include <thread>

#include "ads/events.h"

namespace adsd::ads {

cqrs::Result<std::unique_ptr<ExternalValidator>> ExternalValidator::Create(const ExternalValidatorOptions& options) {
  ASSIGN_OR_RETURN(http::Url url, http::Url::Parse(options.url));
  if (options.retry.attempts < 1) return cqrs::InvalidArgument("validator retries: at least 1 attempt");
  return std::unique_ptr<ExternalValidator>(new ExternalValidator(options, std::move(url)));
}

cqrs::Result<std::vector<Finding>> ExternalValidator::CallOnce(const std::string& body) {
  ASSIGN_OR_RETURN(http::Response res, client_.PostJson(body, options_.timeout));
  if (res.status >= 500) return cqrs::Unavailable("validator answered " + std::to_string(res.status));
  if (res.status != 200) return cqrs::Internal("validator refused the request: " + std::to_string(res.status));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(res.body);
  simdjson::dom::element doc;
  std::string_view verdict;
  simdjson::dom::array reasons;
  if (parser.parse(padded).get(doc) || doc["verdict"].get(verdict) || doc["reasons"].get(reasons)) {
    return cqrs::Unavailable("validator answered something that is not a verdict");
  }
  std::vector<Finding> out;
  for (simdjson::dom::element r : reasons) {
    std::string_view code, field, message;
    if (r["code"].get(code) || r["field"].get(field) || r["message"].get(message)) continue;
    out.push_back({std::string(code), std::string(field), std::string(message), Severity::kReject});
  }
  if (verdict == "reject" && out.empty()) {
    out.push_back({"external_rejected", "", "the external validation service rejected the ad", Severity::kReject});
  }
  if (verdict != "reject") out.clear();
  return out;
}

cqrs::Result<std::vector<Finding>> ExternalValidator::Validate(const Ad& ad, const std::string& retailer) {
  const std::string body = events::ContentPayload(retailer, ad);
  cqrs::Status last = cqrs::Unavailable("not called");
  for (int attempt = 1; attempt <= options_.retry.attempts; ++attempt) {
    if (attempt > 1) {
      std::chrono::milliseconds pause;
      {
        cqrs::MutexLock lock(rng_mu_);
        pause = options_.retry.Backoff(attempt, rng_);
      }
      std::this_thread::sleep_for(pause);  // the backoff itself, not a wait for a result
    }
    if (!breaker_.Allow()) return cqrs::Unavailable("validator circuit open: " + last.message());
    auto r = CallOnce(body);
    if (r.ok()) {
      breaker_.RecordSuccess();
      return r;
    }
    if (r.status().code() == cqrs::StatusCode::kInternal) {
      breaker_.RecordSuccess();  // it answered; our request was wrong: retrying will not help
      return r.status();
    }
    breaker_.RecordFailure();
    last = r.status();
  }
  return cqrs::Unavailable("validator unavailable after " + std::to_string(options_.retry.attempts) +
                           " attempts: " + last.message());
}

}  // namespace adsd::ads
