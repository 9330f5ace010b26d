#include "ads/ad_json.h"

#include <gtest/gtest.h>

#include <random>

namespace adsd::ads {
namespace {

constexpr std::string_view kGood = R"({
  "title": "Winter boots", "description": "Warm and dry.",
  "landing_url": "https://shop.example.com/boots?ref=ad", "category": "apparel",
  "bid_cents": 120, "currency": "usd", "countries": ["US", "ca"],
  "min_age": 18, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T23:59:59+01:00"})";

std::vector<std::string> Fields(const ParsedAd& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.field + ":" + e.code);
  return out;
}

TEST(AdJson, GoodAdParsesAndNormalizesCodes) {
  ParsedAd p = ParseAd(kGood);
  ASSERT_TRUE(p.ok()) << ::testing::PrintToString(Fields(p));
  EXPECT_EQ(p.ad.title, "Winter boots");
  EXPECT_EQ(p.ad.currency, "USD");
  EXPECT_EQ(p.ad.countries, (std::vector<std::string>{"US", "CA"}));
  EXPECT_EQ(p.ad.min_age, 18);
  EXPECT_EQ(p.ad.ends_at, "2026-12-31T23:59:59+01:00");
}

TEST(AdJson, RoundTripIsExact) {
  ParsedAd p = ParseAd(kGood);
  ParsedAd again = ParseAd(AdToJson(p.ad));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.ad, p.ad);
  EXPECT_EQ(AdToJson(again.ad), AdToJson(p.ad));
}

TEST(AdJson, EveryBadFieldIsReportedAtOnce) {
  ParsedAd p = ParseAd(R"({"title": "", "landing_url": "http://x.example", "category": "spaceships",
    "bid_cents": 0, "currency": "XXY", "countries": ["US", "ZZ", "US"], "min_age": 120,
    "starts_at": "2026-12-31T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"})");
  EXPECT_EQ(Fields(p), (std::vector<std::string>{
                           "title:required", "landing_url:invalid_url", "category:unknown_category",
                           "bid_cents:not_positive", "currency:unknown_currency", "countries[1]:unknown_country",
                           "countries[2]:duplicate", "min_age:out_of_range", "ends_at:before_start"}));
}

TEST(AdJson, MissingRequiredFieldsAreNamed) {
  ParsedAd p = ParseAd("{}");
  EXPECT_EQ(Fields(p), (std::vector<std::string>{"title:required", "landing_url:required", "category:required",
                                                 "bid_cents:required", "currency:required", "countries:required"}));
}

TEST(AdJson, WrongTypesAndUnknownFieldsNameTheField) {
  ParsedAd p = ParseAd(R"({"title": 5, "landing_url": "https://a.example", "category": "toys",
    "bid_cents": 1.5, "currency": "EUR", "countries": "FR", "colour": "red", "min_age": "18"})");
  EXPECT_EQ(Fields(p), (std::vector<std::string>{"title:wrong_type", "bid_cents:wrong_type", "countries:wrong_type",
                                                 "colour:unknown_field", "min_age:wrong_type"}));
}

TEST(AdJson, MalformedJsonIsOneBodyError) {
  for (std::string_view bad : {"", "{", "[1,2]", "{\"title\": }", "{\"title\":\"a\"} trailing", "nul"}) {
    ParsedAd p = ParseAd(bad);
    ASSERT_EQ(p.errors.size(), 1u) << bad;
    EXPECT_EQ(p.errors[0].field, "") << bad;
  }
}

TEST(AdJson, TitleLengthCountsCharactersNotBytes) {
  std::string ninety;
  for (int i = 0; i < 90; ++i) ninety += "é";  // 2 bytes each
  std::string json(kGood);
  json.replace(json.find("Winter boots"), 12, ninety);
  EXPECT_TRUE(ParseAd(json).ok());
  json.replace(json.find(ninety), ninety.size(), ninety + "é");
  EXPECT_EQ(Fields(ParseAd(json)), (std::vector<std::string>{"title:too_long"}));
}

TEST(AdJson, TitleWithAnyControlCharacterIsRefused) {
  // "No control characters" is every Cc character: tab and line feed too (a title is one line),
  // DEL and the C1 range; other characters that are not letters are fine.
  auto title = [](std::string t) {
    std::string json(kGood);
    json.replace(json.find("Winter boots"), 12, t);
    return Fields(ParseAd(json));
  };
  const std::vector<std::string> refused{"title:control_characters"};
  for (const char* t : {"a\\u0007b", "a\\tb", "a\\nb", "a\\rb", "a\\u0000b", "a\\u007fb", "a\\u0085b", "a\\u009fb"}) {
    EXPECT_EQ(title(t), refused) << t;
  }
  for (const char* t : {"a\\u00a0b", "caf\\u00e9", "a\\u2013b", "Boots \\ud83d\\ude00"}) {
    EXPECT_TRUE(title(t).empty()) << t;
  }
}

TEST(AdJson, CountryErrorsNameTheirOwnIndexAfterAnElementOfTheWrongType) {
  auto countries = [](std::string list) {
    std::string json(kGood);
    const std::string good = R"(["US", "ca"])";
    json.replace(json.find(good), good.size(), list);
    return Fields(ParseAd(json));
  };
  EXPECT_EQ(countries(R"([1])"), (std::vector<std::string>{"countries[0]:wrong_type"}));
  EXPECT_EQ(
      countries(R"(["US", null, "ZZ", "US"])"),
      (std::vector<std::string>{"countries[1]:wrong_type", "countries[2]:unknown_country", "countries[3]:duplicate"}));
}

TEST(AdJson, PatchChangesOnlyPresentFieldsAndRevalidates) {
  const Ad base = ParseAd(kGood).ad;
  ParsedAd p = ParseAdPatch(R"({"bid_cents": 250, "min_age": null})", base);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.ad.bid_cents, 250);
  EXPECT_FALSE(p.ad.min_age.has_value());
  EXPECT_EQ(p.ad.title, base.title);
  EXPECT_EQ(Fields(ParseAdPatch(R"({"ends_at": "2026-11-01T00:00:00Z"})", base)),
            (std::vector<std::string>{"ends_at:before_start"}));
  EXPECT_EQ(Fields(ParseAdPatch(R"({"title": null})", base)), (std::vector<std::string>{"title:required"}));
}

TEST(AdJson, UrlHostAcceptsOnlyHttpsWithAHostName) {
  EXPECT_EQ(UrlHost("https://Shop.Example.com:8443/x"), "shop.example.com");
  EXPECT_EQ(UrlHost("http://shop.example.com"), "");
  EXPECT_EQ(UrlHost("https://user@shop.example.com"), "");
  EXPECT_EQ(UrlHost("https://localhost/"), "");
  EXPECT_EQ(UrlHost("https://a b.example"), "");
  EXPECT_EQ(UrlHost("javascript:alert(1)"), "");
}

TEST(AdJson, UrlHostRefusesAPortThatIsNotOne) {
  // WHATWG URL: a port is decimal digits up to 65535, or empty (the scheme's default).
  EXPECT_EQ(UrlHost("https://shop.example.com:65535/x"), "shop.example.com");
  EXPECT_EQ(UrlHost("https://shop.example.com:/x"), "shop.example.com");
  for (const char* url :
       {"https://shop.example.com:65536/", "https://shop.example.com:99999/", "https://shop.example.com:443443/",
        "https://shop.example.com:abc/", "https://shop.example.com:-1/", "https://shop.example.com:44 3/",
        "https://shop.example.com:1:2/"}) {
    EXPECT_EQ(UrlHost(url), "") << url;
  }
}

TEST(AdJson, LandingUrlsOnAddressesOrLocalNamesAreRefusedWithTheirOwnCode) {
  auto landing = [](std::string url) {
    std::string json(kGood);
    const std::string good = "https://shop.example.com/boots?ref=ad";
    json.replace(json.find(good), good.size(), url);
    return Fields(ParseAd(json));
  };
  const std::vector<std::string> refused{"landing_url:non_public_host"};
  for (const char* url : {"https://169.254.169.254/latest",
                          "https://127.0.0.1/",
                          "https://10.0.0.7:8443/x",
                          "https://192.168.1.1",
                          "https://8.8.8.8/",
                          "https://2130706433/",
                          "https://0x7f000001/",
                          "https://0x7f.0.0.1/",
                          "https://0177.0.0.1/",
                          "https://127.1/",
                          "https://[::1]/",
                          "https://[fe80::1%25eth0]/",
                          "https://[::ffff:169.254.169.254]/",
                          "https://localhost/",
                          "https://LOCALHOST./",
                          "https://api.localhost/",
                          "https://printer.local/",
                          "https://metadata.google.internal/",
                          "https://router.home.arpa/",
                          "https://user@127.0.0.1/"}) {
    EXPECT_EQ(landing(url), refused) << url;
  }
  for (const char* url : {"https://shop.example.com/", "https://1password.com/", "https://shop.example.com:8443/",
                          "https://a1.b2.example/", "https://localhost.example.com/", "https://x.0x1.example/"}) {
    EXPECT_TRUE(landing(url).empty()) << url;
  }
  EXPECT_EQ(landing("http://127.0.0.1/"), (std::vector<std::string>{"landing_url:invalid_url"}));
}

TEST(AdJson, StartAndEndAreComparedToTheMicrosecondInAnyOffset) {
  auto codes = [](std::string_view starts, std::string_view ends) {
    std::string body(kGood);
    body.replace(body.find("2026-12-01T00:00:00Z"), 20, starts);
    body.replace(body.find("2026-12-31T23:59:59+01:00"), 25, ends);
    return Fields(ParseAd(body));
  };
  EXPECT_TRUE(codes("2026-12-01T00:00:00.1Z", "2026-12-01T00:00:00.5Z").empty());
  EXPECT_TRUE(codes("2026-12-01T00:00:00Z", "2026-12-01T00:30:00+00:29").empty());
  const std::vector<std::string> before{"ends_at:before_start"};
  EXPECT_EQ(codes("2026-12-01T00:00:00Z", "2026-12-01T01:00:00+01:00"), before);
  EXPECT_EQ(codes("2026-12-01T00:00:00.5Z", "2026-12-01T00:00:00.1Z"), before);
  EXPECT_EQ(codes("2023-02-29T12:00:00Z", "2026-12-01T00:00:00Z"),
            (std::vector<std::string>{"starts_at:invalid_timestamp"}));
  EXPECT_EQ(codes("2026-12-01T00:00:00Z", "2026-12-01 12:00:00Z"),
            (std::vector<std::string>{"ends_at:invalid_timestamp"}));
}

TEST(AdJson, MutatedBodiesNeverCrashAndAlwaysGiveAnAnswer) {
  std::mt19937_64 rng(3);
  const std::string good(kGood);
  for (int i = 0; i < 20000; ++i) {
    std::string body = good;
    const int edits = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng());
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, "{}[]\",:0\\e"[rng() % 10]);
          break;
      }
      if (body.empty()) body = "x";
    }
    ParsedAd p = ParseAd(body);
    if (p.ok()) {
      EXPECT_TRUE(ParseAd(AdToJson(p.ad)).ok());
    }
  }
}

}  // namespace
}  // namespace adsd::ads
