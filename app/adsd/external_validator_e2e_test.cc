// adsd with the external validation API: a real ads-validator over real HTTP.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "app/adsd/adsd_process.h"
#include "cqrs/core/testing/temp_dir.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using testing::AdsdProcess;
using testing::kAcme;
using testing::ValidatorProcess;

std::string Ad(const std::string& title) {
  return R"({"title":")" + title +
         R"(","landing_url":"https://shop.example.com","category":"toys","bid_cents":50,"currency":"USD","countries":["US"]})";
}

std::string Get(const std::string& json, const char* key) {
  simdjson::dom::parser p;
  simdjson::padded_string s(json);
  simdjson::dom::element e, v;
  if (p.parse(s).get(e) || e[key].get(v)) return "";
  return v.is_string() ? std::string(v.get_string().value()) : simdjson::minify(v);
}

std::string WaitDecided(const AdsdProcess& adsd, const std::string& id, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = adsd.Call("GET", "/v1/ads/" + id, kAcme);
    body = r.body;
    if (r.status == 200 && Get(body, "status") != "pending") return body;
    adsd.Call("GET", "/v1/ads/" + id + "?min_position=1000000000&wait_ms=50", kAcme);  // a bounded pause
  }
  return body;
}

TEST(ExternalValidation, ItsVerdictJoinsTheRules) {
  ValidatorProcess validator({"--latency-ms", "20", "--reject-words", "casino"});
  ASSERT_NE(validator.port(), 0);
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir.path() / "data", "async", {}, {"--validator-url", validator.url()});
  ASSERT_TRUE(adsd.started());
  const std::string bad = Get(adsd.Call("POST", "/v1/ads", kAcme, Ad("Casino night toys")).body, "ad_id");
  const std::string good = Get(adsd.Call("POST", "/v1/ads", kAcme, Ad("Wooden train")).body, "ad_id");
  const std::string judged = WaitDecided(adsd, bad);
  EXPECT_EQ(Get(judged, "status"), "rejected");
  EXPECT_NE(Get(judged, "reasons").find("external_policy"), std::string::npos) << judged;
  EXPECT_EQ(Get(WaitDecided(adsd, good), "status"), "approved");
}

TEST(ExternalValidation, FlakyValidatorIsRetriedAndEveryAdDecided) {
  ValidatorProcess validator({"--fail-rate", "0.5", "--reject-words", "casino"});
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir.path() / "data", "async", {},
                   {"--validator-url", validator.url(), "--validator-breaker-open-ms", "100"});
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(Get(adsd.Call("POST", "/v1/ads", kAcme, Ad("Train set " + std::to_string(i))).body, "ad_id"));
  }
  for (const auto& id : ids) EXPECT_EQ(Get(WaitDecided(adsd, id, 60s), "status"), "approved") << id;
}

TEST(ExternalValidation, AdsWaitWhileTheValidatorIsDownAndAreDecidedWhenItReturns) {
  const std::uint16_t port = testing::FreePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/validate";
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir.path() / "data", "async", {},
                   {"--validator-url", url, "--validator-timeout-ms", "200", "--validator-breaker-open-ms", "200"});
  const std::string id = Get(adsd.Call("POST", "/v1/ads", kAcme, Ad("Wooden train")).body, "ad_id");
  EXPECT_EQ(Get(WaitDecided(adsd, id, 2s), "status"), "pending") << "no validator, no verdict";
  ValidatorProcess validator({"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(validator.port(), port);
  EXPECT_EQ(Get(WaitDecided(adsd, id), "status"), "approved");
}

TEST(ExternalValidation, SyncPipelineAnswers503WhenTheValidatorIsDownAndKeepsTheAd) {
  const std::uint16_t port = testing::FreePort();
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir.path() / "data", "sync", {},
                   {"--validator-url", "http://127.0.0.1:" + std::to_string(port) + "/v1/validate",
                    "--validator-timeout-ms", "200"});
  auto r = adsd.Call("POST", "/v1/ads", kAcme, Ad("Wooden train"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("will be decided later"), std::string::npos) << r.body;
  auto list = adsd.Call("GET", "/v1/ads", kAcme);
  EXPECT_NE(list.body.find("Wooden train"), std::string::npos) << "the ad was stored";
}

}  // namespace
}  // namespace adsd::app
