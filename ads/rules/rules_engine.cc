// Evaluating the rule sets against an ad.
#include <algorithm>
#include <cctype>

#include "ads/ad_json.h"
#include "ads/rules/rules.h"

namespace adsd::ads {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsWordChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || u >= 0x80;  // letters of other scripts count as word characters
}

// Whether `phrase` occurs in `text` (both lower case) with no word character on either side.
bool ContainsPhrase(std::string_view text, std::string_view phrase) {
  for (std::size_t at = text.find(phrase); at != std::string_view::npos; at = text.find(phrase, at + 1)) {
    const bool left = at == 0 || !IsWordChar(text[at - 1]) || !IsWordChar(phrase.front());
    const std::size_t end = at + phrase.size();
    const bool right = end == text.size() || !IsWordChar(text[end]) || !IsWordChar(phrase.back());
    if (left && right) return true;
  }
  return false;
}

bool HostMatches(std::string_view host, std::string_view domain) {
  return host == domain ||
         (host.size() > domain.size() && host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.');
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\n") - b + 1));
}

void Reject(Verdict& v, std::string code, std::string field, std::string message) {
  v.findings.push_back({std::move(code), std::move(field), std::move(message), Severity::kReject});
}

}  // namespace

int FloodHistory::Record(const std::string& key, const std::string& id, std::int64_t at_s, std::int64_t window_s) {
  const std::int64_t horizon = at_s - window_s;
  // Expire what fell out of every window, so memory stays bounded by the traffic of one window.
  while (!order_.empty() && order_.front().first <= horizon) {
    auto it = seen_.find(order_.front().second);
    if (it != seen_.end()) {
      while (!it->second.empty() && it->second.front().at <= horizon) it->second.pop_front();
      if (it->second.empty()) seen_.erase(it);
    }
    order_.pop_front();
  }
  auto& entries = seen_[key];
  const bool known =
      !id.empty() && std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; });
  if (!known) {
    entries.push_back({at_s, id});
    order_.emplace_back(at_s, key);
  }
  return static_cast<int>(
      std::count_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.at > horizon && e.at <= at_s; }));
}

Verdict RuleEngine::Evaluate(const Ad& ad, const EvalContext& ctx, FloodHistory& floods) const {
  const RulesConfig& c = config_;
  Verdict v;

  // Data sanity.
  if (ad.bid_cents > c.max_bid_cents) {
    Reject(
        v, "bid_anomaly", "bid_cents",
        "bid of " + std::to_string(ad.bid_cents) + " cents is above the limit of " + std::to_string(c.max_bid_cents));
  }
  if (c.reject_title_as_description && !ad.description.empty() &&
      Lower(Trim(ad.description)) == Lower(Trim(ad.title))) {
    Reject(v, "description_repeats_title", "description", "the description only repeats the title");
  }

  // Ad policy.
  const std::string title = Lower(ad.title), description = Lower(ad.description);
  for (const std::string& phrase : c.misleading_phrases) {
    for (const auto& [field, text] : {std::pair{"title", &title}, std::pair{"description", &description}}) {
      if (ContainsPhrase(*text, phrase)) {
        Reject(v, "misleading_claim", field, "\"" + phrase + "\" is a misleading claim");
      }
    }
  }
  int letters = 0, capitals = 0, exclamations = 0;
  for (char ch : ad.title) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalpha(u)) {
      ++letters;
      if (std::isupper(u)) ++capitals;
    }
    if (ch == '!') ++exclamations;
  }
  if (letters >= 6 && capitals >= c.max_title_capitals_share * letters) {
    Reject(v, "shouting_title", "title", "the title is mostly capital letters");
  } else if (exclamations > c.max_title_exclamations) {
    Reject(v, "shouting_title", "title", "the title has " + std::to_string(exclamations) + " exclamation marks");
  }

  // Fraud signals.
  const std::string host = UrlHost(ad.landing_url);
  for (const std::string& d : c.url_shorteners) {
    if (HostMatches(host, d)) Reject(v, "url_shortener", "landing_url", "landing pages on " + d + " hide their target");
  }
  for (const std::string& d : c.blocked_domains) {
    if (HostMatches(host, d)) Reject(v, "blocked_domain", "landing_url", host + " is on the blocked-domain list");
  }
  const std::string key = ctx.retailer + '\x1f' + title + '\x1f' + ad.landing_url + '\x1f' + ad.category;
  const int copies = floods.Record(key, ctx.submission_id, ctx.submitted_at_s, c.flood_window_seconds);
  if (copies > c.flood_max_copies) {
    Reject(v, "duplicate_flood", "title",
           "the same ad was submitted " + std::to_string(copies) + " times within " +
               std::to_string(c.flood_window_seconds) + " seconds");
  }

  // Regulatory compliance.
  for (const RestrictedCategory& rc : c.restricted) {
    if (rc.category != ad.category) continue;
    for (std::size_t i = 0; i < ad.countries.size(); ++i) {
      const std::string& country = ad.countries[i];
      if (std::find(rc.banned_countries.begin(), rc.banned_countries.end(), country) != rc.banned_countries.end()) {
        Reject(v, "restricted_in_country", "countries[" + std::to_string(i) + "]",
               rc.category + " ads are not allowed in " + country);
        continue;
      }
      auto it = rc.min_age_by_country.find(country);
      const int required = it != rc.min_age_by_country.end() ? it->second : rc.min_age;
      if (!ad.min_age || *ad.min_age < required) {
        Reject(v, "audience_below_legal_age", "min_age",
               rc.category + " ads in " + country + " need min_age of at least " + std::to_string(required));
      }
    }
  }

  v.approved = std::none_of(v.findings.begin(), v.findings.end(),
                            [](const Finding& f) { return f.severity == Severity::kReject; });
  return v;
}

}  // namespace adsd::ads
