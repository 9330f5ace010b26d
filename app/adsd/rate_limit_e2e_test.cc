// Per-key rate limits over real HTTP: one retailer flooding is turned away with 429s while
// another retailer's requests all succeed; the RateLimit-* headers on every limited answer.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "app/adsd/adsd_process.h"
#include "app/adsd/test_ads.h"
#include "cqrs/core/testing/temp_dir.h"

namespace adsd::app {
namespace {

using testing::AdsdProcess;
using testing::kAdmin;
using testing::kCalm;
using testing::kFlood;

std::string Get(const std::string& target, const char* token) {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(token) + "\r\n\r\n";
}

std::string HeaderValue(const std::string& head, const std::string& name) {
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n" + name + ":";
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find(key);
  if (at == std::string::npos) return "";
  const auto start = head.find_first_not_of(' ', at + key.size());
  return head.substr(start, head.find("\r\n", start) - start);
}

TEST(RateLimitE2E, AFloodingRetailerGets429sWhileAnotherRetailersRequestsAllSucceed) {
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir / "data", "async");
  ASSERT_TRUE(adsd.started());

  // The flood: 8 connections, 100 requests each, back to back (its bucket holds 20).
  std::atomic<int> ok{0}, limited{0}, other{0}, bad_429{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 8; ++t) {
    flood.emplace_back([&] {
      http::testing::Connection c(adsd.port());
      for (int i = 0; i < 100; ++i) {
        if (!c.Send(Get("/v1/ads", kFlood))) break;
        auto r = c.Receive(std::chrono::seconds(30));
        if (!r) break;
        if (r->status == 200) {
          ++ok;
        } else if (r->status == 429) {
          ++limited;
          const bool complete = !HeaderValue(r->head, "Retry-After").empty() &&
                                HeaderValue(r->head, "RateLimit-Limit") == "20" &&
                                !HeaderValue(r->head, "RateLimit-Remaining").empty() &&
                                !HeaderValue(r->head, "RateLimit-Reset").empty() &&
                                r->head.find("application/problem+json") != std::string::npos;
          if (!complete) ++bad_429;
        } else {
          ++other;
        }
      }
    });
  }
  // Meanwhile another retailer, within its own limit, is served every time.
  int calm_ok = 0, calm_failed = 0;
  {
    http::testing::Connection c(adsd.port());
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(c.Send(Get("/v1/ads", kCalm)));
      auto r = c.Receive(std::chrono::seconds(30));  // bounded: an answer, not a hang
      (r && r->status == 200) ? ++calm_ok : ++calm_failed;
    }
  }
  // An admin key is unlimited by default.
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(adsd.Call("GET", "/v1/ads?retailer=flood", kAdmin).status, 200) << i;
  }
  for (auto& t : flood) t.join();

  EXPECT_EQ(calm_ok, 15);
  EXPECT_EQ(calm_failed, 0);
  EXPECT_GT(limited.load(), 0) << "the flood must be limited";
  EXPECT_LT(ok.load(), 800 / 2) << "most of the flood is turned away";
  EXPECT_GE(ok.load(), 20) << "the flood's burst was served";
  EXPECT_EQ(bad_429.load(), 0) << "every 429 carries Retry-After, RateLimit-* and a problem body";
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + limited, 800);
}

// Not only a 429: every answer to a key with a limit says where it stands, so a client can slow
// down before it is refused. Unlimited keys get no RateLimit-* headers at all.
TEST(RateLimitE2E, SuccessfulAnswersCarryTheRateLimitHeadersOfLimitedKeysOnly) {
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir / "data", "sync");
  ASSERT_TRUE(adsd.started());

  std::vector<long> remaining;
  for (int i = 0; i < 3; ++i) {
    auto r = adsd.Call("GET", "/v1/ads", kCalm);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(HeaderValue(r.head, "RateLimit-Limit"), "20") << r.head;
    EXPECT_FALSE(HeaderValue(r.head, "RateLimit-Reset").empty()) << r.head;
    EXPECT_TRUE(HeaderValue(r.head, "Retry-After").empty()) << r.head;
    const std::string left = HeaderValue(r.head, "RateLimit-Remaining");
    ASSERT_FALSE(left.empty()) << r.head;
    remaining.push_back(std::stol(left));
  }
  // 20 at once, one taken a request (the bucket refills by 20 a second: at most a few back).
  EXPECT_LE(remaining[0], 19);
  EXPECT_GE(remaining[0], 17);
  // A write, and an answer that is not a success, carry them too.
  auto posted = adsd.Call("POST", "/v1/ads", kCalm, testing::kGoodAd);
  EXPECT_EQ(posted.status, 201) << posted.body;
  EXPECT_EQ(HeaderValue(posted.head, "RateLimit-Limit"), "20") << posted.head;
  auto missing = adsd.Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000", kCalm);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(HeaderValue(missing.head, "RateLimit-Limit"), "20") << missing.head;

  // Unlimited keys (the admin's by default, a key marked unlimited): none.
  for (const char* token : {kAdmin, testing::kAcme}) {
    auto r = adsd.Call("GET", "/v1/ads?retailer=calm", token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(HeaderValue(r.head, "RateLimit-Limit").empty()) << r.head;
    EXPECT_TRUE(HeaderValue(r.head, "RateLimit-Remaining").empty()) << r.head;
  }
}

}  // namespace
}  // namespace adsd::app
