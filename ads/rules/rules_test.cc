// Each default rule: an ad that trips it and one that does not.
#include "ads/rules/rules.h"

#include <gtest/gtest.h>

namespace adsd::ads {
namespace {

Ad Clean() {
  Ad ad;
  ad.title = "Winter boots";
  ad.description = "Warm, dry and built to last.";
  ad.landing_url = "https://shop.example.com/boots";
  ad.category = "apparel";
  ad.bid_cents = 120;
  ad.currency = "USD";
  ad.countries = {"US", "CA"};
  return ad;
}

std::vector<std::string> Codes(const Ad& ad, FloodHistory* history = nullptr, std::int64_t at = 1000) {
  FloodHistory local;
  Verdict v = RuleEngine::Defaults().Evaluate(ad, {"acme", at, ""}, history ? *history : local);
  std::vector<std::string> out;
  for (const auto& f : v.findings) out.push_back(f.code + "@" + f.field);
  EXPECT_EQ(v.approved, out.empty());
  return out;
}

using Codes_t = std::vector<std::string>;

TEST(Rules, CleanAdIsApproved) { EXPECT_EQ(Codes(Clean()), Codes_t{}); }

TEST(Rules, BidAnomaly) {
  Ad ad = Clean();
  ad.bid_cents = 5'000'000;
  EXPECT_EQ(Codes(ad), Codes_t{});
  ad.bid_cents = 5'000'001;
  EXPECT_EQ(Codes(ad), Codes_t{"bid_anomaly@bid_cents"});
}

TEST(Rules, DescriptionThatRepeatsTheTitle) {
  Ad ad = Clean();
  ad.description = "  winter BOOTS ";
  EXPECT_EQ(Codes(ad), Codes_t{"description_repeats_title@description"});
  ad.description = "Winter boots for the whole family";
  EXPECT_EQ(Codes(ad), Codes_t{});
}

TEST(Rules, MisleadingClaimsAnyCaseOnWordBoundaries) {
  for (const char* claim : {"GUARANTEED results", "Risk-Free trial", "free money inside", "Now 100% OFF",
                            "totally no risk", "Get Rich Quick scheme"}) {
    Ad ad = Clean();
    ad.title = claim;
    EXPECT_EQ(Codes(ad), Codes_t{"misleading_claim@title"}) << claim;
  }
  Ad ad = Clean();
  ad.description = "Our warranty: guaranteed!";
  EXPECT_EQ(Codes(ad), Codes_t{"misleading_claim@description"});
  ad = Clean();
  ad.title = "Unguaranteedness is not a word";  // inside another word: not the claim
  ad.description = "Free delivery, money back in 30 days, 100% cotton";
  EXPECT_EQ(Codes(ad), Codes_t{});
}

TEST(Rules, ShoutingTitles) {
  Ad ad = Clean();
  ad.title = "WINTER BOOTS SALE";
  EXPECT_EQ(Codes(ad), Codes_t{"shouting_title@title"});
  ad.title = "Boots!!! Now!";
  EXPECT_EQ(Codes(ad), Codes_t{"shouting_title@title"});
  ad.title = "NASA-grade boots!";  // an acronym and one exclamation mark are fine
  EXPECT_EQ(Codes(ad), Codes_t{});
}

TEST(Rules, UrlShortenersAndBlockedDomains) {
  Ad ad = Clean();
  ad.landing_url = "https://bit.ly/3xYz";
  EXPECT_EQ(Codes(ad), Codes_t{"url_shortener@landing_url"});
  ad.landing_url = "https://login.phishing.example/account";
  EXPECT_EQ(Codes(ad), Codes_t{"blocked_domain@landing_url"});
  ad.landing_url = "https://notbit.ly.shop.example.com/";  // only the domain and its subdomains match
  EXPECT_EQ(Codes(ad), Codes_t{});
}

TEST(Rules, DuplicateFloodWithinTheWindow) {
  FloodHistory history;
  Ad ad = Clean();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Codes(ad, &history, 1000 + i), Codes_t{}) << i;
  EXPECT_EQ(Codes(ad, &history, 1005), Codes_t{"duplicate_flood@title"});
  // Outside the 600 s window the old copies no longer count.
  EXPECT_EQ(Codes(ad, &history, 1000 + 600 + 10), Codes_t{});
  // Another retailer's identical ad, in the same history, is not this retailer's flood.
  EXPECT_TRUE(RuleEngine::Defaults().Evaluate(ad, {"globex", 1610, ""}, history).approved);
}

TEST(Rules, TheSameSubmissionJudgedTwiceCountsOnce) {
  FloodHistory history;
  Ad ad = Clean();
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(RuleEngine::Defaults().Evaluate(ad, {"acme", 1000, "event-1"}, history).approved) << i;
  }
}

TEST(Rules, RestrictedCategoryBelowLegalAge) {
  Ad ad = Clean();
  ad.category = "alcohol";
  ad.countries = {"FR"};
  EXPECT_EQ(Codes(ad), Codes_t{"audience_below_legal_age@min_age"});
  ad.min_age = 18;
  EXPECT_EQ(Codes(ad), Codes_t{});
  ad.countries = {"FR", "US"};  // the US needs 21 for alcohol
  EXPECT_EQ(Codes(ad), Codes_t{"audience_below_legal_age@min_age"});
  ad.min_age = 21;
  EXPECT_EQ(Codes(ad), Codes_t{});
}

TEST(Rules, RestrictedCategoryInBanningCountry) {
  for (const char* category : {"alcohol", "gambling", "tobacco", "weapons", "pharmacy", "crypto"}) {
    Ad ad = Clean();
    ad.category = category;
    ad.min_age = 21;
    ad.countries = {"US", "SA"};
    if (std::string(category) == "tobacco" || std::string(category) == "weapons" || std::string(category) == "crypto") {
      ad.countries = {"US", "CN"};
      if (std::string(category) == "tobacco") ad.countries = {"US", "GB"};
    }
    EXPECT_EQ(Codes(ad), Codes_t{"restricted_in_country@countries[1]"}) << category;
    ad.countries = {"US"};
    EXPECT_EQ(Codes(ad), Codes_t{}) << category;
  }
}

TEST(Rules, BadRulesFilesNameTheKey) {
  auto bad = [](std::string_view toml) { return RuleEngine::FromToml(toml).status().message(); };
  EXPECT_NE(bad("[sanity]\nmax_bid_cents = \"lots\"").find("sanity.max_bid_cents"), std::string::npos);
  EXPECT_NE(bad("[policy]\nmisleading_phrases = [1]").find("policy.misleading_phrases"), std::string::npos);
  EXPECT_NE(bad("[[regulatory.restricted]]\ncategory = \"spaceships\"").find("regulatory.restricted[0].category"),
            std::string::npos);
  EXPECT_NE(bad("[nonsense]\nx = 1").find("[nonsense]"), std::string::npos);
  EXPECT_NE(bad("[sanity\n").find("rules:"), std::string::npos);
  auto ok = RuleEngine::FromToml("[policy]\nmisleading_phrases = [\"Best Ever\"]");
  ASSERT_TRUE(ok.ok());
  FloodHistory h;
  Ad ad = Clean();
  ad.title = "The best ever boots";
  EXPECT_FALSE(ok->Evaluate(ad, {"acme", 1, ""}, h).approved);
}

}  // namespace
}  // namespace adsd::ads
