// Basic validation of a complete Ad: the checks that need no state and no external call.
#include <algorithm>
#include <cctype>
#include <set>

#include "ads/ad_json.h"
#include "ads/catalog.h"
#include "cqrs/core/time.h"

namespace adsd::ads {

namespace {

std::size_t CodePoints(std::string_view s) {
  // Input is valid UTF-8 (the JSON parser checks): count bytes that do not continue a sequence.
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Every control character (Unicode category Cc): C0 including tab and line feed (a title is one
// line), DEL, and C1 (U+0080-U+009F, in UTF-8 the two bytes C2 80 to C2 9F).
bool HasControl(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7F) return true;
    if (u == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return true;
  }
  return false;
}

// The port after "host:": empty (the default, as WHATWG URL allows) or decimal digits up to 65535.
bool ValidPort(std::string_view port) {
  if (port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return port.empty() || std::stoi(std::string(port)) <= 65535;
}

void Add(std::vector<FieldError>& errors, std::string field, std::string code, std::string message) {
  errors.push_back({std::move(field), std::move(code), std::move(message)});
}

}  // namespace

std::string UrlHost(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size() || url.size() > 2048) return {};
  std::string lower(url.substr(0, kScheme.size()));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower != kScheme) return {};
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return {};  // no credentials in ad links
  std::string_view host = authority.substr(0, authority.find(':'));
  if (host.size() < authority.size() && !ValidPort(authority.substr(host.size() + 1))) return {};
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return {};
  std::string out;
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.')) return {};
    out += static_cast<char>(std::tolower(u));
  }
  if (out.find('.') == std::string::npos) return {};  // a public host name has a dot
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20) return {};  // no spaces or controls anywhere
  }
  return out;
}

std::optional<std::string> NonPublicHostReason(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size()) return std::nullopt;
  std::string scheme(url.substr(0, kScheme.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != kScheme) return std::nullopt;
  const std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  authority.remove_prefix(authority.find('@') == std::string_view::npos ? 0 : authority.find('@') + 1);
  // "[...]" is an IPv6 (or IPvFuture) literal: refused whatever the address.
  if (!authority.empty() && authority.front() == '[') return "an IP address literal, not a public host name";
  std::string host(authority.substr(0, authority.find(':')));
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!host.empty() && host.back() == '.') host.pop_back();  // "localhost." is localhost
  if (host.empty()) return std::nullopt;                     // invalid_url says what is wrong
  // Browsers (WHATWG URL, "ends in a number") parse a host whose last label is numeric as IPv4,
  // in decimal, octal (0177) or hex (0x7f), whole or shortened (127.1). Such a host is an
  // address, whatever its value: public addresses are refused too, as ads link to names.
  const std::string_view last = std::string_view(host).substr(host.rfind('.') + 1);
  const bool hex =
      last.size() >= 2 && last[0] == '0' && last[1] == 'x' &&
      std::all_of(last.begin() + 2, last.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  const bool decimal =
      !last.empty() && std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (hex || decimal) return "an IP address literal, not a public host name";
  // Names that never resolve to a public address: loopback (RFC 6761), mDNS (RFC 6762), the home
  // network (RFC 8375) and private-use suffixes in common use.
  static constexpr std::string_view kPrivateSuffixes[] = {"localhost",   "local",     "internal", "intranet", "lan",
                                                          "localdomain", "home.arpa", "invalid",  "corp",     "home"};
  for (std::string_view suffix : kPrivateSuffixes) {
    if (host == suffix ||
        (host.size() > suffix.size() && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.')) {
      return "a private or local name (." + std::string(suffix) + "), not a public host name";
    }
  }
  return std::nullopt;
}

void ValidateAd(const Ad& ad, std::vector<FieldError>& e) {
  const std::size_t title_len = CodePoints(ad.title);
  if (title_len == 0) Add(e, "title", "required", "title must not be empty");
  if (title_len > 90) Add(e, "title", "too_long", "title is longer than 90 characters");
  if (HasControl(ad.title)) Add(e, "title", "control_characters", "title contains control characters");
  if (CodePoints(ad.description) > 1000) {
    Add(e, "description", "too_long", "description is longer than 1000 characters");
  }
  if (ad.landing_url.empty()) {
    Add(e, "landing_url", "required", "landing_url is required");
  } else if (auto why = NonPublicHostReason(ad.landing_url)) {
    Add(e, "landing_url", "non_public_host", "landing_url host is " + *why);
  } else if (UrlHost(ad.landing_url).empty()) {
    Add(e, "landing_url", "invalid_url", "landing_url must be an https URL with a host name");
  }
  if (ad.category.empty()) {
    Add(e, "category", "required", "category is required");
  } else if (!IsKnownCategory(ad.category)) {
    Add(e, "category", "unknown_category", "category '" + ad.category + "' is not in the taxonomy");
  }
  if (ad.bid_cents <= 0) Add(e, "bid_cents", "not_positive", "bid_cents must be an integer > 0");
  if (ad.bid_cents > 100'000'000) Add(e, "bid_cents", "too_large", "bid_cents must be at most 100000000");
  if (ad.currency.empty()) {
    Add(e, "currency", "required", "currency is required");
  } else if (!IsKnownCurrency(ad.currency)) {
    Add(e, "currency", "unknown_currency", "currency must be an ISO 4217 code such as USD");
  }
  if (ad.countries.empty()) Add(e, "countries", "required", "countries must list 1 to 50 countries");
  if (ad.countries.size() > 50) Add(e, "countries", "too_many", "countries must list at most 50");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < ad.countries.size(); ++i) {
    const std::string field = "countries[" + std::to_string(i) + "]";
    if (!IsKnownCountry(ad.countries[i])) {
      Add(e, field, "unknown_country", "'" + ad.countries[i] + "' is not an ISO 3166-1 alpha-2 code");
    } else if (!seen.insert(ad.countries[i]).second) {
      Add(e, field, "duplicate", "'" + ad.countries[i] + "' is listed twice");
    }
  }
  if (ad.min_age && (*ad.min_age < 0 || *ad.min_age > 99)) {
    Add(e, "min_age", "out_of_range", "min_age must be between 0 and 99");
  }
  std::optional<cqrs::TimestampUs> starts, ends;
  if (ad.starts_at) {
    if (auto t = cqrs::ParseRfc3339(*ad.starts_at); t.ok()) {
      starts = *t;
    } else {
      Add(e, "starts_at", "invalid_timestamp", "starts_at must be an RFC 3339 timestamp");
    }
  }
  if (ad.ends_at) {
    if (auto t = cqrs::ParseRfc3339(*ad.ends_at); t.ok()) {
      ends = *t;
    } else {
      Add(e, "ends_at", "invalid_timestamp", "ends_at must be an RFC 3339 timestamp");
    }
  }
  if (starts && ends && *ends <= *starts) Add(e, "ends_at", "before_start", "ends_at must be after starts_at");
}

}  // namespace adsd::ads
