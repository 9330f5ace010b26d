// Detailed validation: rule sets loaded from a TOML rules file (defaults compiled in).
//
// The rule sets: data sanity, ad policy (misleading claims, shouting titles), fraud signals (URL
// shorteners, blocked domains, duplicate floods, bid anomalies) and regulatory compliance
// (restricted categories by audience age and country). Each finding names a rule code, the field
// and a message; an ad with any finding of severity "reject" is rejected.
//
// Evaluation is a pure function of the ad, the context and the flood history the caller passes
// in: no clock and no I/O, so that a replay of the log reaches the same verdicts.
// Thread-safety: a RuleEngine is immutable after loading; FloodHistory is not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ads/ad.h"
#include "cqrs/core/status.h"

namespace adsd::ads {

enum class Severity { kReject, kWarn };

struct Finding {
  std::string code;   // "misleading_claim", "url_shortener", …
  std::string field;  // "title", "landing_url", "countries[2]", …
  std::string message;
  Severity severity = Severity::kReject;
  bool operator==(const Finding&) const = default;
};

struct Verdict {
  bool approved = true;
  std::vector<Finding> findings;
};

struct RestrictedCategory {
  std::string category;
  int min_age = 18;
  std::map<std::string, int> min_age_by_country;
  std::vector<std::string> banned_countries;
};

struct RulesConfig {
  std::int64_t max_bid_cents = 5'000'000;
  bool reject_title_as_description = true;
  std::vector<std::string> misleading_phrases;
  double max_title_capitals_share = 0.7;
  int max_title_exclamations = 2;
  std::vector<std::string> url_shorteners;
  std::vector<std::string> blocked_domains;
  std::int64_t flood_window_seconds = 600;
  int flood_max_copies = 5;
  std::vector<RestrictedCategory> restricted;
};

// Recent submissions per retailer and ad fingerprint, for the duplicate-flood rule. Fed in log
// order with the events' own timestamps; memory is bounded by the window.
class FloodHistory {
 public:
  // Records submission `id` at `at_s` (seconds) and returns how many copies, this one included,
  // fall within the last `window_s` seconds. The same `id` recorded again (a redelivery, or the
  // sync pipeline and the consumer both judging one event) is counted once.
  int Record(const std::string& key, const std::string& id, std::int64_t at_s, std::int64_t window_s);

 private:
  struct Entry {
    std::int64_t at;
    std::string id;
  };
  std::map<std::string, std::deque<Entry>> seen_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  // for expiring old keys
};

struct EvalContext {
  std::string retailer;
  std::int64_t submitted_at_s = 0;
  std::string submission_id;  // the event's id; empty: every evaluation counts as a new copy
};

class RuleEngine {
 public:
  // Parses a rules file; errors name the key at fault.
  static cqrs::Result<RuleEngine> FromToml(std::string_view toml, std::string_view source = "rules");
  // The shipped defaults (ads/rules/default_rules.toml, compiled in).
  static const RuleEngine& Defaults();

  Verdict Evaluate(const Ad& ad, const EvalContext& ctx, FloodHistory& floods) const;
  const RulesConfig& config() const { return config_; }

 private:
  explicit RuleEngine(RulesConfig c) : config_(std::move(c)) {}
  RulesConfig config_;
};

}  // namespace adsd::ads
