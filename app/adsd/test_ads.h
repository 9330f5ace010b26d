// Tests: the ads the end-to-end tests submit — a good ad, the same with a title of the test's
// choosing, and one with a title of its own each time.
#pragma once

#include <atomic>
#include <string>

namespace adsd::app::testing {

inline constexpr const char* kGoodAd =
    R"({"title":"Winter boots","description":"Warm and dry.","landing_url":"https://shop.example.com/boots",)"
    R"("category":"apparel","bid_cents":120,"currency":"USD","countries":["US","CA"]})";

// kGoodAd with another title.
inline std::string AdTitled(const std::string& title) {
  std::string ad = kGoodAd;
  return ad.replace(ad.find("Winter boots"), 12, title);
}

// A good ad with its own title: identical ads in a burst would trip the duplicate-flood rule.
inline std::string UniqueGoodAd() {
  static std::atomic<int> n{0};
  return AdTitled("Winter boots no. " + std::to_string(++n));
}

}  // namespace adsd::app::testing
