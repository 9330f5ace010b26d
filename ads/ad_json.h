// The ad's JSON form: request bodies (POST, PATCH), and the payload stored in events.
//
//   {"title": "Winter boots", "description": "…", "landing_url": "https://shop.example/boots",
//    "category": "apparel", "bid_cents": 120, "currency": "USD", "countries": ["US", "CA"],
//    "min_age": 18, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T23:59:59Z"}
//
// Parsing is the *basic validation* of the Write API: every field is checked and every bad field
// is reported (not just the first); unknown fields and wrong JSON types are errors naming the
// field. Optional fields may be absent or null. The same form, written by AdToJson, is the payload
// of AdSubmitted and AdChanged events, so it must stay backward compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ads/ad.h"

namespace adsd::ads {

struct ParsedAd {
  Ad ad;                           // meaningful only when errors is empty
  std::vector<FieldError> errors;  // one entry per bad field
  bool ok() const { return errors.empty(); }
};

// A complete ad (POST /v1/ads, and event payloads).
ParsedAd ParseAd(std::string_view json);

// A partial ad (PATCH /v1/ads/{id}): fields present replace those of `base`, `null` clears an
// optional field; the result is validated as a whole.
ParsedAd ParseAdPatch(std::string_view json, const Ad& base);

// Canonical JSON: fixed key order, optional fields omitted when absent.
std::string AdToJson(const Ad& ad);

// Checks a complete Ad (used after a PATCH merge). Appends one error per bad field.
void ValidateAd(const Ad& ad, std::vector<FieldError>& errors);

// The host of an https URL, lower-cased, without port; empty if the URL is not valid https.
std::string UrlHost(std::string_view url);

// Why an https URL's host cannot be a public landing page (an IPv4 literal in any of the forms a
// browser accepts, an IPv6 literal, localhost, a link-local, private or special-use name), or
// nullopt. Checked before UrlHost, so such hosts get their own error.
std::optional<std::string> NonPublicHostReason(std::string_view url);

}  // namespace adsd::ads
