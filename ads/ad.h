// Ad: what a retailer submits, after basic validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace adsd::ads {

struct Ad {
  std::string title;                     // 1–90 characters (Unicode code points)
  std::string description;               // ≤ 1000 characters
  std::string landing_url;               // https://host/…
  std::string category;                  // from catalog.h
  std::int64_t bid_cents = 0;            // > 0
  std::string currency;                  // ISO 4217, upper case
  std::vector<std::string> countries;    // ISO 3166-1 alpha-2, upper case, 1–50, no duplicates
  std::optional<int> min_age;            // 0–99
  std::optional<std::string> starts_at;  // RFC 3339
  std::optional<std::string> ends_at;    // RFC 3339, after starts_at

  bool operator==(const Ad&) const = default;
};

// One problem with one field of a request, as reported in problem+json `errors`.
struct FieldError {
  std::string field;    // "title", "countries[2]", "" for the body as a whole
  std::string code;     // stable, machine-readable: "too_long", "unknown_currency", …
  std::string message;  // for people

  bool operator==(const FieldError&) const = default;
};

}  // namespace adsd::ads
