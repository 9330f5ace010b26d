// End to end through real HTTP against a started adsd, for every pipeline, on one backend: the
// embedded log and SQLite read model (adsd_e2e_test), or PostgreSQL (event store and read model)
// and Kafka (adsd_distributed_e2e_test, the same file built with ADSD_E2E_DISTRIBUTED, run
// against the test fixture's real servers).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <thread>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/test_ads.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/sql/sqlite.h"
#ifdef ADSD_E2E_DISTRIBUTED
#include "cqrs/pg/testing/test_servers.h"
#endif

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using testing::AdsdProcess;
using testing::kAcme;
using testing::kAdmin;
using testing::kGlobex;
using testing::kGoodAd;
using testing::UniqueGoodAd;

constexpr const char* kBadAd =
    R"({"title":"Guaranteed winter boots","landing_url":"https://bit.ly/boots","category":"apparel",)"
    R"("bid_cents":120,"currency":"USD","countries":["US"]})";

using testing::Field;

// The backend's command-line arguments: none for the embedded log; a fresh database (event store
// and read model) and topic for PostgreSQL and Kafka.
std::vector<std::string> BackendArgs() {
#ifdef ADSD_E2E_DISTRIBUTED
  const std::string db = cqrs::testing::FreshPostgresDatabase();
  return {"--store",
          db,
          "--read-db",
          db,
          "--bus",
          "kafka://" + cqrs::testing::TestKafkaBootstrap() + "?partitions=4&topic=t-" + cqrs::Uuid::V7().ToString()};
#else
  return {};
#endif
}

class AdsdE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    backend_ = BackendArgs();
    Restart();
  }
  void Restart() {
    adsd_.reset();
    adsd_ = std::make_unique<AdsdProcess>(data_, GetParam(), std::vector<std::string>{}, backend_);
    ASSERT_TRUE(adsd_->started());
  }

  // Submits and returns the ad id (and checks the pipeline's answer).
  std::string Submit(const std::string& body, const char* token = kAcme) {
    auto r = adsd_->Call("POST", "/v1/ads", token, body);
    EXPECT_EQ(r.status, GetParam() == "sync" ? 201 : 202) << r.body;
    return Field(r.body, "ad_id");
  }

  // Waits (bounded) for the ad's verdict; returns the ad's JSON.
  std::string Decided(const std::string& id, const char* token = kAcme) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = adsd_->Call("GET", "/v1/ads/" + id, token);
      if (r.status == 200 && Field(r.body, "status") != "pending") return r.body;
      // Read-your-writes: ask the server to wait for the read model rather than polling fast.
      adsd_->Call("GET", "/v1/ads/" + id + "?min_position=" + std::to_string(1'000'000'000) + "&wait_ms=50", token);
    }
    return "";
  }

  cqrs::testing::TempDir dir_;
  std::filesystem::path data_;
  std::vector<std::string> backend_;
  std::unique_ptr<AdsdProcess> adsd_;
};

TEST_P(AdsdE2E, GoodAdIsApprovedAndBadAdRejectedWithReasons) {
  const std::string good = Submit(kGoodAd), bad = Submit(kBadAd);
  EXPECT_EQ(Field(Decided(good), "status"), "approved");
  const std::string rejected = Decided(bad);
  EXPECT_EQ(Field(rejected, "status"), "rejected");
  EXPECT_NE(Field(rejected, "reasons").find("misleading_claim"), std::string::npos);
  EXPECT_NE(Field(rejected, "reasons").find("url_shortener"), std::string::npos);

  auto failed = adsd_->Call("GET", "/v1/ads?status=rejected", kAcme);
  EXPECT_EQ(failed.status, 200);
  EXPECT_NE(failed.body.find(bad), std::string::npos);
  EXPECT_EQ(failed.body.find(good), std::string::npos);

  auto history = adsd_->Call("GET", "/v1/ads/" + bad + "/events", kAcme);
  EXPECT_EQ(history.status, 200);
  EXPECT_NE(history.body.find("\"AdSubmitted\""), std::string::npos);
  EXPECT_NE(history.body.find("\"AdRejected\""), std::string::npos);
  EXPECT_NE(history.body.find("\"hash\""), std::string::npos);

  char day[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
  auto report = adsd_->Call("GET", std::string("/v1/reports/daily?date=") + day, kAcme);
  EXPECT_EQ(report.status, 200);
  EXPECT_NE(report.head.find("text/csv"), std::string::npos);
  EXPECT_EQ(report.body.rfind("ad_id,status,decided_at,title,landing_url,reasons\r\n", 0), 0u);
  EXPECT_NE(report.body.find(bad + ",rejected,"), std::string::npos);
}

TEST_P(AdsdE2E, AuthAndTenancy) {
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", "", kGoodAd).status, 401);
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", "nope-0123456789abcdefgh", kGoodAd).status, 401);
  const std::string id = Submit(kGoodAd);
  Decided(id);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id, kGlobex).status, 404) << "another retailer's ad is a 404";
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id + "/events", kGlobex).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id, kAdmin).status, 200);
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", kAdmin, kGoodAd).status, 403);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads", kAdmin).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads?retailer=acme", kAdmin).status, 200);
  EXPECT_EQ(adsd_->Call("GET", "/v1/admin/parked", kAcme).status, 403) << "admin routes need an admin token";
  auto parked = adsd_->Call("GET", "/v1/admin/parked", kAdmin);
  EXPECT_EQ(parked.status, 200);
  EXPECT_EQ(parked.body, R"({"parked":[]})");
  EXPECT_EQ(adsd_->Call("POST", "/v1/admin/parked/ad-x/replay", kAdmin).status, 404);
}

// The notification routes, in either shape: a token first (401 without), and the methods
// docs/openapi.json names on each path, another being 405 with that Allow.
TEST_P(AdsdE2E, NotificationRoutesNeedATokenAndAnswerTheDocumentedMethods) {
  for (const char* target : {"/v1/webhooks", "/v1/ads/stream"}) {
    EXPECT_EQ(adsd_->Call("GET", target, "").status, 401) << target;
  }
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/webhooks/ep_x", "").status, 401);
  auto other = adsd_->Call("POST", "/v1/webhooks/ep_x", kAcme);
  EXPECT_EQ(other.status, 405);
  EXPECT_NE(other.head.find("Allow: DELETE\r\n"), std::string::npos) << other.head;
  other = adsd_->Call("DELETE", "/v1/webhooks", kAcme);
  EXPECT_EQ(other.status, 405);
  EXPECT_NE(other.head.find("Allow: POST, GET, HEAD\r\n"), std::string::npos) << other.head;
  // Served in both shapes (on PostgreSQL by write and read processes; this one is `all`).
  auto list = adsd_->Call("GET", "/v1/webhooks", kAcme);
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, R"({"webhooks":[]})");
}

// The operator verifies the log online: its frames, positions and hash chain, as adsctl verify.
TEST_P(AdsdE2E, TheLogVerifiesOnline) {
  const std::string id = Submit(kGoodAd);
  ASSERT_NE(Field(Decided(id), "status"), "");
  EXPECT_EQ(adsd_->Call("GET", "/v1/admin/verify", kAcme).status, 403);
  auto r = adsd_->Call("GET", "/v1/admin/verify", kAdmin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Field(r.body, "intact"), "true") << r.body;
  EXPECT_EQ(Field(r.body, "problem"), "null") << r.body;
  EXPECT_GE(std::stoull(Field(r.body, "records")), 2u) << r.body;
  EXPECT_EQ(Field(r.body, "head_hash").size(), 64u) << r.body;
}

TEST_P(AdsdE2E, BadRequestsGetClearErrorsAndChangeNothing) {
  auto r = adsd_->Call("POST", "/v1/ads", kAcme, R"({"title":"","bid_cents":"x","colour":1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.head.find("application/problem+json"), std::string::npos);
  EXPECT_NE(r.body.find(R"("field":"bid_cents","code":"wrong_type")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("field":"colour","code":"unknown_field")"), std::string::npos);
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", kAcme, "{nope").status, 400);
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", kAcme, std::string(70'000, ' ')).status, 413);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads", kAcme, "", "X-Padding: " + std::string(9000, 'p') + "\r\n").status, 431);
  {
    http::testing::Connection c(adsd_->port());
    c.Send(
        http::testing::Post("/v1/ads", kGoodAd, "text/plain", std::string("Authorization: Bearer ") + kAcme + "\r\n"));
    auto r415 = c.Receive();
    ASSERT_TRUE(r415);
    EXPECT_EQ(r415->status, 415);
  }
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000?min_position=abc", kAcme).status, 400);
  EXPECT_EQ(
      adsd_->Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000?min_position=999999&wait_ms=20", kAcme).status,
      503)
      << "a position the read side cannot reach in time";
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000?min_version=-1", kAcme).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000?min_version=1&wait_ms=20", kAcme).status,
            503)
      << "an ad the read model does not hold in time";
  EXPECT_EQ(adsd_->Call("GET", "/v1/nothing", kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("PUT", "/v1/ads", kAcme).status, 405);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/not-a-uuid", kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads?status=lost", kAcme).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads?limit=0", kAcme).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/reports/daily?date=2026-13-01", kAcme).status, 400);
  auto list = adsd_->Call("GET", "/v1/ads", kAcme);
  EXPECT_EQ(Field(list.body, "items"), "[]") << "nothing was written";
}

TEST_P(AdsdE2E, PatchNeedsTheCurrentVersionAndRevalidates) {
  const std::string id = Submit(kGoodAd);
  const std::string decided = Decided(id);
  const std::string version = Field(decided, "version");
  ASSERT_EQ(version, "2");
  EXPECT_EQ(adsd_->Call("PATCH", "/v1/ads/" + id, kAcme, R"({"bid_cents":200})").status, 428);
  EXPECT_EQ(adsd_->Call("PATCH", "/v1/ads/" + id, kAcme, R"({"bid_cents":200})", "If-Match: \"1\"\r\n").status, 412);
  EXPECT_EQ(adsd_->Call("PATCH", "/v1/ads/" + id, kGlobex, R"({"bid_cents":200})", "If-Match: \"2\"\r\n").status, 404);
  EXPECT_EQ(adsd_->Call("PATCH", "/v1/ads/" + id, kAcme, R"({"bid_cents":0})", "If-Match: \"2\"\r\n").status, 400);
  auto ok = adsd_->Call("PATCH", "/v1/ads/" + id, kAcme, R"({"title":"Guaranteed boots"})", "If-Match: \"2\"\r\n");
  EXPECT_EQ(ok.status, 202) << ok.body;
  // The change is version 3, its verdict version 4: the read waits until the model holds that.
  const std::string now = adsd_->Call("GET", "/v1/ads/" + id + "?min_version=4&wait_ms=10000", kAcme).body;
  EXPECT_EQ(Field(now, "version"), "4") << now;
  EXPECT_EQ(Field(now, "status"), "rejected") << now;
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/ads/" + id, kAcme).status, 202);
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/ads/" + id, kAcme).status, 409);
}

TEST_P(AdsdE2E, ThePastOfAnAdIsRebuiltFromItsStreamAtAPositionOrATime) {
  const std::string id = Submit(kGoodAd);
  ASSERT_EQ(Field(Decided(id), "version"), "2");
  auto patched = adsd_->Call("PATCH", "/v1/ads/" + id, kAcme, R"({"title":"Guaranteed boots"})", "If-Match: \"2\"\r\n");
  ASSERT_EQ(patched.status, 202) << patched.body;
  const std::string now = adsd_->Call("GET", "/v1/ads/" + id + "?min_version=4&wait_ms=10000", kAcme).body;
  ASSERT_EQ(Field(now, "status"), "rejected") << now;
  // Each event's position and time, from the audit trail.
  const std::string history = adsd_->Call("GET", "/v1/ads/" + id + "/events", kAcme).body;
  simdjson::dom::parser parser;
  auto doc = parser.parse(history);
  std::vector<std::pair<std::uint64_t, std::string>> events;  // (position, recorded_at)
  for (auto e : doc["events"].get_array()) {
    events.emplace_back(e["position"].get_uint64().value(), std::string(e["recorded_at"].get_string().value()));
  }
  ASSERT_EQ(events.size(), 4u) << history;
  auto at = [&](const std::string& query, const char* token = kAcme) {
    return adsd_->Call("GET", "/v1/ads/" + id + "?" + query, token);
  };
  // As it stood after each event: submitted (pending, v1), approved (v2), changed (pending, v3).
  auto first = at("at_position=" + std::to_string(events[0].first));
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Field(first.body, "status"), "pending");
  EXPECT_EQ(Field(first.body, "version"), "1");
  EXPECT_NE(first.body.find("Winter boots"), std::string::npos) << first.body;
  auto approved = at("at_position=" + std::to_string(events[1].first));
  EXPECT_EQ(Field(approved.body, "status"), "approved") << approved.body;
  EXPECT_EQ(Field(approved.body, "version"), "2");
  auto changed = at("as_of=" + events[2].second);
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(Field(changed.body, "version"), "3") << changed.body;
  EXPECT_NE(changed.body.find("Guaranteed boots"), std::string::npos) << changed.body;
  // Before it existed: 404; another retailer: 404; an admin sees it.
  EXPECT_EQ(at("as_of=2000-01-01T00:00:00Z").status, 404);
  if (events[0].first > 1) {
    EXPECT_EQ(at("at_position=" + std::to_string(events[0].first - 1)).status, 404);
  }
  EXPECT_EQ(at("at_position=" + std::to_string(events[0].first), kGlobex).status, 404);
  EXPECT_EQ(at("at_position=" + std::to_string(events[0].first), kAdmin).status, 200);
  // A position past the head is 400 naming the head; bad values and combinations are 400.
  auto past = at("at_position=999999999");
  EXPECT_EQ(past.status, 400) << past.body;
  EXPECT_NE(past.body.find("past the log's head"), std::string::npos) << past.body;
  EXPECT_NE(past.body.find("\"field\":\"at_position\""), std::string::npos) << past.body;
  EXPECT_EQ(at("as_of=yesterday").status, 400);
  EXPECT_EQ(at("at_position=0").status, 400);
  EXPECT_EQ(at("at_position=1&as_of=2026-01-01T00:00:00Z").status, 400);
  EXPECT_EQ(at("at_position=1&min_position=1").status, 400);
}

TEST_P(AdsdE2E, IfMatchFollowsRfc9110OnPatchAndDelete) {
  const std::string id = Submit(kGoodAd);
  ASSERT_EQ(Field(Decided(id), "version"), "2");
  const std::string path = "/v1/ads/" + id;
  // DELETE checks If-Match exactly as PATCH does: malformed or stale is never ignored.
  EXPECT_EQ(adsd_->Call("DELETE", path, kAcme, "", "If-Match: \"abc\r\n").status, 400);
  EXPECT_EQ(adsd_->Call("DELETE", path, kAcme, "", "If-Match: \"1\"\r\n").status, 412);
  EXPECT_EQ(adsd_->Call("DELETE", path, kAcme, "", "If-Match: W/\"2\"\r\n").status, 412) << "weak never matches";
  EXPECT_EQ(adsd_->Call("PATCH", path, kAcme, R"({"bid_cents":200})", "If-Match: 2, 3\r\n").status, 400);
  // Bare digits are not an entity tag either, even the current version's (docs/api.md: 400).
  auto bare = adsd_->Call("PATCH", path, kAcme, R"({"bid_cents":200})", "If-Match: 2\r\n");
  EXPECT_EQ(bare.status, 400) << bare.body;
  EXPECT_NE(bare.body.find("\"field\":\"If-Match\""), std::string::npos) << bare.body;
  EXPECT_EQ(adsd_->Call("DELETE", path, kAcme, "", "If-Match: 2\r\n").status, 400);
  // A list matches if one tag is the current version; * matches any.
  auto listed = adsd_->Call("PATCH", path, kAcme, R"({"bid_cents":201})", "If-Match: \"1\", , \"2\"\r\n");
  EXPECT_EQ(listed.status, 202) << listed.body;
  EXPECT_EQ(Field(listed.body, "version"), "3");
  auto any = adsd_->Call("DELETE", path, kAcme, "", "If-Match: *\r\n");
  EXPECT_EQ(any.status, 202) << any.body;
  EXPECT_EQ(Field(any.body, "status"), "withdrawn");
}

TEST_P(AdsdE2E, TheAuditTrailPagesByCursor) {
  const std::string id = Submit(kGoodAd);
  ASSERT_EQ(Field(Decided(id), "version"), "2");
  ASSERT_EQ(adsd_->Call("DELETE", "/v1/ads/" + id, kAcme).status, 202);
  std::vector<std::string> versions;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r =
        adsd_->Call("GET", "/v1/ads/" + id + "/events?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), kAcme);
    ASSERT_EQ(r.status, 200) << r.body;
    simdjson::dom::parser p;
    simdjson::padded_string body(r.body);
    auto doc = p.parse(body);
    for (auto e : doc["events"].get_array()) versions.push_back(std::to_string(e["version"].get_uint64().value()));
    if (doc["next_cursor"].is_null()) break;
    cursor = std::string(doc["next_cursor"].get_string().value());
  }
  EXPECT_EQ(versions, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id + "/events?limit=0", kAcme).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id + "/events?cursor=-1", kAcme).status, 400);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id + "/events", kGlobex).status, 404);
}

TEST_P(AdsdE2E, ListingIsNewestFirstAndPaginatedByCursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Submit(UniqueGoodAd()));
  for (const auto& id : ids) Decided(id);
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = adsd_->Call("GET", "/v1/ads?status=approved&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), kAcme);
    ASSERT_EQ(r.status, 200);
    simdjson::dom::parser p;
    simdjson::padded_string s(r.body);
    for (auto item : p.parse(s)["items"].get_array()) seen.emplace_back(item["ad_id"].get_string().value());
    cursor = Field(r.body, "next_cursor");
    if (cursor == "null") break;
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
}

TEST_P(AdsdE2E, IdempotencyKeyRetryGetsTheFirstAnswer) {
  const std::string key = "Idempotency-Key: order-42\r\n";
  auto first = adsd_->Call("POST", "/v1/ads", kAcme, kGoodAd, key);
  auto retry = adsd_->Call("POST", "/v1/ads", kAcme, kGoodAd, key);
  ASSERT_EQ(first.status / 100, 2) << first.body;
  EXPECT_EQ(retry.status, first.status);
  EXPECT_EQ(Field(retry.body, "ad_id"), Field(first.body, "ad_id"));
  if (GetParam() == "async") {
    EXPECT_EQ(retry.body, first.body);
  }
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", kAcme, kBadAd, key).status, 422) << "same key, another body";
  auto other = adsd_->Call("POST", "/v1/ads", kGlobex, kGoodAd, key);
  EXPECT_NE(Field(other.body, "ad_id"), Field(first.body, "ad_id")) << "keys are per retailer";
  EXPECT_EQ(adsd_->Call("POST", "/v1/ads", kAcme, kGoodAd, "Idempotency-Key: has space\r\n").status, 400);
  Decided(Field(first.body, "ad_id"));
  auto list = adsd_->Call("GET", "/v1/ads", kAcme);
  simdjson::dom::parser p;
  simdjson::padded_string s(list.body);
  EXPECT_EQ(p.parse(s)["items"].get_array().size(), 1u) << "one ad for the key: " << list.body;
}

TEST_P(AdsdE2E, HealthReadinessAndMetrics) {
  EXPECT_EQ(adsd_->Call("GET", "/healthz", "").status, 200);
  // Ready soon after start (at once on the embedded log; a broker connection may take a moment).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int ready = 0;
  while ((ready = adsd_->Call("GET", "/readyz", "").status) != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);  // between readiness probes, as a load balancer would
  }
  EXPECT_EQ(ready, 200);
  Submit(kGoodAd);
  auto m = adsd_->Call("GET", "/metrics", "");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("adsd_http_requests_total{method=\"POST\",route=\"/v1/ads\""), std::string::npos);
  EXPECT_NE(m.body.find("adsd_log_head_position"), std::string::npos);
  EXPECT_NE(m.body.find("adsd_consumer_lag_events{consumer=\"projection:ads\"}"), std::string::npos);
  // The exposition as Prometheus's own linter reads it (types, names, help), where promtool is
  // installed (scripts/install-deps.sh --ci).
  if (testing::Shell("command -v promtool > /dev/null").first == 0) {
    const auto file = dir_.path() / "metrics.txt";
    std::ofstream(file) << m.body;
    const auto [status, out] = testing::Shell("promtool check metrics < " + file.string() + " 2>&1");
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "") << out;
  }
}

TEST_P(AdsdE2E, SigkillDuringABurstLosesNoAcknowledgedAdAndDuplicatesNone) {
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable enough;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        auto r = adsd_->Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
        if (r.status / 100 != 2) return;  // the server is gone
        std::lock_guard lock(mu);
        acknowledged.push_back(Field(r.body, "ad_id"));
        enough.notify_all();
      }
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(enough.wait_for(lock, 60s, [&] { return acknowledged.size() >= 40; }));
  }
  adsd_->Kill(SIGKILL);  // mid-burst: the clients still have requests in flight
  stop = true;
  for (auto& c : clients) c.join();
  Restart();
  std::set<std::string> unique(acknowledged.begin(), acknowledged.end());
  EXPECT_EQ(unique.size(), acknowledged.size());
  for (const auto& id : acknowledged) {
    const std::string ad = Decided(id);
    EXPECT_EQ(Field(ad, "status"), "approved") << id;
    EXPECT_EQ(Field(ad, "version"), "2") << id << ": exactly one verdict";
  }
}

#ifdef ADSD_E2E_DISTRIBUTED
#define ADSD_E2E_BACKEND PostgresKafka
#else
#define ADSD_E2E_BACKEND Embedded
#endif
INSTANTIATE_TEST_SUITE_P(ADSD_E2E_BACKEND, AdsdE2E, ::testing::Values("async", "cqrs", "sync"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

#ifndef ADSD_E2E_DISTRIBUTED  // what follows is about the embedded log and its data directory

TEST(AdsdRedelivery, ReplayingDeliveredEventsChangesNothingAndDecidesNothingTwice) {
  cqrs::testing::TempDir dir;
  const auto data = dir.path() / "data";
  std::vector<std::string> ids;
  std::string before, ready_before;
  {
    AdsdProcess adsd(data, "async");
    ASSERT_TRUE(adsd.started());
    for (const char* ad : {kGoodAd, kBadAd})
      ids.push_back(Field(adsd.Call("POST", "/v1/ads", kAcme, ad).body, "ad_id"));
    for (const auto& id : ids) {
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (std::chrono::steady_clock::now() < deadline) {
        auto r = adsd.Call("GET", "/v1/ads/" + id, kAcme);
        if (r.status == 200 && Field(r.body, "status") != "pending") break;
        adsd.Call("GET", "/v1/ads/" + id + "?min_position=1000000&wait_ms=50", kAcme);
      }
    }
    before = adsd.Call("GET", "/v1/ads", kAcme).body;
    ready_before = adsd.Call("GET", "/readyz", "").body;
    adsd.Kill(SIGTERM);
  }
  // Make both consumers see everything again, as after a lost checkpoint or a redelivery.
  std::filesystem::remove(data / "offsets" / "validator.offset");
  {
    auto db = cqrs::sql::Database::Open(data / "read.db");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE projection_checkpoints SET position = 0").ok());
  }
  AdsdProcess adsd(data, "async");
  ASSERT_TRUE(adsd.started());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string ready;
  while (std::chrono::steady_clock::now() < deadline) {
    ready = adsd.Call("GET", "/readyz", "").body;
    if (Field(ready, "projection_position") == Field(ready_before, "log_head") &&
        Field(ready, "validator_position") == Field(ready_before, "log_head")) {
      break;
    }
    adsd.Call("GET", "/v1/ads/" + ids[0] + "?min_position=1000000&wait_ms=50", kAcme);
  }
  EXPECT_EQ(Field(ready, "log_head"), Field(ready_before, "log_head")) << "no verdict was appended twice";
  EXPECT_EQ(adsd.Call("GET", "/v1/ads", kAcme).body, before) << "the read model is unchanged";
}

TEST(AdsdRebuild, OnlineRebuildKeepsServingAndMatchesTheIncrementalModel) {
  cqrs::testing::TempDir dir;
  AdsdProcess adsd(dir.path() / "data", "async");
  ASSERT_TRUE(adsd.started());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(Field(adsd.Call("POST", "/v1/ads", kAcme, i % 4 ? UniqueGoodAd() : kBadAd).body, "ad_id"));
  std::string before;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    before = adsd.Call("GET", "/v1/ads?limit=500", kAcme).body;
    std::size_t listed = 0;
    for (auto at = before.find("\"ad_id\""); at != std::string::npos; at = before.find("\"ad_id\"", at + 1)) ++listed;
    if (before.find("pending") == std::string::npos && listed == ids.size()) break;
    adsd.Call("GET", "/v1/ads/" + ids[0] + "?min_position=1000000&wait_ms=50", kAcme);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {  // the read API keeps answering during the rebuild
    while (!stop) {
      if (adsd.Call("GET", "/v1/ads/" + ids[1], kAcme).status != 200) failures++;
    }
  });
  auto r = adsd.Call("POST", "/v1/admin/rebuild", kAdmin);
  stop = true;
  reader.join();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(adsd.Call("GET", "/v1/ads?limit=500", kAcme).body, before);
  // The new read model follows new writes.
  const std::string later = Field(adsd.Call("POST", "/v1/ads", kAcme, UniqueGoodAd()).body, "position");
  EXPECT_EQ(adsd.Call("GET", "/v1/ads/" + ids[0] + "?min_position=" + later + "&wait_ms=5000", kAcme).status, 200);
  EXPECT_EQ(adsd.Call("POST", "/v1/admin/rebuild", kAcme).status, 403);
}

// --read-db sqlite:PATH puts the read model where the operator wants it (another disk, say); an
// unknown --read-db is refused at start, before anything is created.
TEST(AdsdReadDb, ASqliteReadModelWhereTheOperatorPutsIt) {
  cqrs::testing::TempDir dir;
  const auto elsewhere = dir.path() / "fast-disk" / "ads.db";
  {
    AdsdProcess adsd(dir.path() / "data", "async", {}, {"--read-db", "sqlite:" + elsewhere.string()});
    ASSERT_TRUE(adsd.started());
    auto posted = adsd.Call("POST", "/v1/ads", kAcme, UniqueGoodAd());
    ASSERT_EQ(posted.status, 202) << posted.body;
    const std::string id = Field(posted.body, "ad_id");
    auto r = adsd.Call("GET", "/v1/ads/" + id + "?min_position=" + Field(posted.body, "position"), kAcme);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(adsd.Call("POST", "/v1/admin/rebuild", kAdmin).status, 200);
    EXPECT_EQ(adsd.Call("GET", "/v1/ads/" + id, kAcme).status, 200);
  }
  EXPECT_TRUE(std::filesystem::exists(elsewhere));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "data" / "read.db"));

  AdsdProcess refused(dir.path() / "refused" / "data", "async", {}, {"--read-db", "mysql://db/ads"});
  EXPECT_FALSE(refused.started());
  const int status = refused.Wait();  // it says why on stderr and exits
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "refused" / "data"));  // and created nothing
}

TEST(AdsdCqrsPipeline, RelayPublishesWhatACrashBetweenCommitAndPublishLeftBehind) {
  cqrs::testing::TempDir dir;
  const auto data = dir.path() / "data";
  {
    AdsdProcess crashing(data, "cqrs", {"ADSD_FAILPOINT=after-outbox-commit"});
    ASSERT_TRUE(crashing.started());
    auto r = crashing.Call("POST", "/v1/ads", kAcme, kGoodAd);
    EXPECT_EQ(r.status, 0) << "the process died before answering";
    const int status = crashing.Wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 3);
  }
  // Stored but never published: restarted (with any pipeline), the relay publishes it, and it is
  // judged and shown like any other ad.
  AdsdProcess adsd(data, "async");
  ASSERT_TRUE(adsd.started());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    body = adsd.Call("GET", "/v1/ads?status=approved", kAcme).body;
    if (body.find("Winter boots") != std::string::npos) break;
    adsd.Call("GET", "/v1/ads/00000000-0000-7000-8000-000000000000?min_position=1000000&wait_ms=50", kAcme);
  }
  EXPECT_NE(body.find("Winter boots"), std::string::npos) << body;
}

TEST(AdsdPipelines, TheSameScenarioReachesTheSameReadModelUnderEveryPipeline) {
  std::map<std::string, std::vector<std::string>> outcomes;
  for (const std::string pipeline : {"async", "cqrs", "sync"}) {
    cqrs::testing::TempDir dir;
    AdsdProcess adsd(dir.path() / "data", pipeline);
    ASSERT_TRUE(adsd.started());
    std::vector<std::string> ids;
    for (const char* ad : {kGoodAd, kBadAd}) {
      auto r = adsd.Call("POST", "/v1/ads", kAcme, ad);
      ASSERT_EQ(r.status / 100, 2) << pipeline << ": " << r.body;
      ids.push_back(Field(r.body, "ad_id"));
    }
    for (const auto& id : ids) {
      std::string body;
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (std::chrono::steady_clock::now() < deadline) {
        auto r = adsd.Call("GET", "/v1/ads/" + id, kAcme);
        body = r.body;
        if (r.status == 200 && Field(body, "status") != "pending") break;
        adsd.Call("GET", "/v1/ads/" + id + "?min_position=1000000&wait_ms=50", kAcme);
      }
      // Everything but ids and times must agree.
      outcomes[pipeline].push_back(Field(body, "status") + " " + Field(body, "reasons") + " v" +
                                   Field(body, "version") + " " + Field(body, "ad"));
    }
  }
  EXPECT_EQ(outcomes["async"], outcomes["cqrs"]);
  EXPECT_EQ(outcomes["async"], outcomes["sync"]);
}

#endif  // ADSD_E2E_DISTRIBUTED

}  // namespace
}  // namespace adsd::app
