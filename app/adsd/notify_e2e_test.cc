// Webhooks and the live stream end to end: a real adsd child process and, in this process, a
// real HTTP receiver (the repository's http::Server) that checks every Standard Webhooks
// signature. Timings are shortened by flags (backoff, attempts, heartbeat, timeouts).
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ads/notify/webhook_signature.h"
#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/sse_client.h"
#include "app/adsd/webhook_receiver.h"
#include "cqrs/core/testing/temp_dir.h"
#include "http/server.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using testing::AdsdProcess;
using testing::Field;
using testing::kAcme;
using testing::kAdmin;
using testing::kGlobex;
using Clock = std::chrono::steady_clock;
using testing::Received;
using testing::Receiver;
using testing::SseClient;

std::string GoodAd(int n) {
  return R"({"title":"Winter boots no. )" + std::to_string(n) +
         R"(","description":"Warm and dry.","landing_url":"https://shop.example.com/boots",)"
         R"("category":"apparel","bid_cents":120,"currency":"USD","countries":["US","CA"]})";
}
constexpr const char* kBadAd =
    R"({"title":"Guaranteed winter boots","landing_url":"https://bit.ly/boots","category":"apparel",)"
    R"("bid_cents":120,"currency":"USD","countries":["US"]})";

class NotifyE2E : public ::testing::Test {
 protected:
  // adsd with short timings for tests; `extra` options replace the defaults of the same name.
  void Start(const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    std::map<std::string, std::string> options = {
        {"--webhook-backoff-ms", "50"},   {"--webhook-backoff-max-ms", "200"},
        {"--webhook-max-attempts", "4"},  {"--webhook-response-timeout-ms", "2000"},
        {"--stream-heartbeat-ms", "200"}, {"--consumers", "4"}};
    for (const auto& [k, v] : extra) options[k] = v;
    args_ = {"--webhooks-allow-private"};
    for (const auto& [k, v] : options) args_.insert(args_.end(), {k, v});
    adsd_ = std::make_unique<AdsdProcess>(dir_.path() / "data", "async", std::vector<std::string>{}, args_);
    ASSERT_TRUE(adsd_->started());
  }
  void Restart() {
    adsd_ = std::make_unique<AdsdProcess>(dir_.path() / "data", "async", std::vector<std::string>{}, args_);
    ASSERT_TRUE(adsd_->started());
  }
  // Registers `url` for every change type; returns {id, secret}.
  std::pair<std::string, std::string> Register(
      const std::string& url, const char* token = kAcme,
      const std::string& events = R"(["ad.submitted","ad.changed","ad.approved","ad.rejected","ad.withdrawn"])") {
    auto r = adsd_->Call("POST", "/v1/webhooks", token, R"({"url":")" + url + R"(","events":)" + events + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return {Field(r.body, "id"), Field(r.body, "secret")};
  }
  std::string Submit(const std::string& body, const char* token = kAcme) {
    auto r = adsd_->Call("POST", "/v1/ads", token, body);
    EXPECT_EQ(r.status, 202) << r.body;
    return Field(r.body, "ad_id");
  }

  cqrs::testing::TempDir dir_;
  std::vector<std::string> args_;
  std::unique_ptr<AdsdProcess> adsd_;
};

// Every status change of every ad arrives, signed, each ad's in order; other retailers' do not.
TEST_F(NotifyE2E, EveryChangeArrivesSignedAndInOrderPerAd) {
  Start();
  Receiver rx;
  auto [id, secret] = Register(rx.url());
  rx.set_secret(secret);
  std::vector<std::string> ads;
  for (int i = 0; i < 8; ++i) ads.push_back(Submit(i % 4 == 3 ? std::string(kBadAd) : GoodAd(i)));
  Submit(GoodAd(100), kGlobex);  // not acme's: never delivered to acme's endpoint
  // One change and one withdrawal once the first verdicts are in.
  ASSERT_TRUE(rx.WaitFor([&](const auto& got) {
    int verdicts = 0;
    for (const auto& r : got) verdicts += Field(r.body, "ad_id") == ads[0] && Field(r.body, "version") == "2";
    return verdicts > 0;
  }));
  auto changed = adsd_->Call("PATCH", "/v1/ads/" + ads[0], kAcme, R"({"bid_cents":300})", "If-Match: \"2\"\r\n");
  EXPECT_EQ(changed.status, 202) << changed.body;
  ASSERT_TRUE(rx.WaitFor([&](const auto& got) {
    for (const auto& r : got) {
      if (Field(r.body, "ad_id") == ads[1] && Field(r.body, "version") == "2") return true;
    }
    return false;
  }));
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/ads/" + ads[1], kAcme).status, 202);

  // 8 submissions, 8 verdicts, 1 change and its verdict, 1 withdrawal.
  ASSERT_TRUE(rx.WaitFor([](const auto& got) {
    std::set<std::string> distinct;
    for (const auto& r : got) distinct.insert(r.id);
    return distinct.size() >= 19;
  })) << rx.received().size();
  std::map<std::string, int> last_version;
  std::set<std::string> ids;
  for (const auto& r : rx.received()) {
    EXPECT_TRUE(r.signature_ok) << r.id << " " << r.signature;
    EXPECT_TRUE(r.id.starts_with("msg_"));
    EXPECT_NEAR(std::stoll(r.timestamp), std::time(nullptr), 60);
    const std::string ad = Field(r.body, "ad_id");
    EXPECT_NE(std::find(ads.begin(), ads.end(), ad), ads.end()) << "not acme's ad: " << r.body;
    if (!ids.insert(r.id).second) continue;  // a redelivery (at least once) repeats, never reorders
    const int version = std::stoi(Field(r.body, "version"));
    EXPECT_GT(version, last_version[ad]) << "out of order for " << ad;
    last_version[ad] = version;
    for (const char* field : {"type", "status", "reasons", "position", "occurred_at"}) {
      EXPECT_FALSE(Field(r.body, field).empty()) << field << " in " << r.body;
    }
  }
  int rejected = 0, withdrawn = 0, changes = 0;
  std::set<std::string> counted;
  for (const auto& r : rx.received()) {
    if (!counted.insert(r.id).second) continue;  // count each delivery once
    rejected += Field(r.body, "type") == "ad.rejected";
    withdrawn += Field(r.body, "type") == "ad.withdrawn";
    changes += Field(r.body, "type") == "ad.changed";
  }
  EXPECT_EQ(rejected, 2);
  EXPECT_EQ(withdrawn, 1);
  EXPECT_EQ(changes, 1);
  EXPECT_NE(Field(rx.received().back().body, "reasons"), "");

  // The listing shows the endpoint without its secret; globex sees none of acme's.
  auto list = adsd_->Call("GET", "/v1/webhooks", kAcme);
  EXPECT_NE(list.body.find(id), std::string::npos);
  EXPECT_EQ(list.body.find("whsec_"), std::string::npos);
  EXPECT_EQ(adsd_->Call("GET", "/v1/webhooks", kGlobex).body.find(id), std::string::npos);
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/webhooks/" + id, kGlobex).status, 404);
  EXPECT_EQ(adsd_->Call("DELETE", "/v1/webhooks/" + id, kAcme).status, 204);
  EXPECT_EQ(adsd_->Call("GET", "/v1/webhooks", kAcme).body, R"({"webhooks":[]})");
}

// A 5xx is retried under the same webhook-id until it is answered 2xx.
TEST_F(NotifyE2E, AFailingEndpointIsRetriedWithTheSameWebhookId) {
  Start();
  Receiver rx;
  std::atomic<int> calls{0};
  rx.set_answer([&](const Received&) { return ++calls <= 2 ? 503 : 200; });
  auto [id, secret] = Register(rx.url(), kAcme, R"(["ad.submitted"])");
  rx.set_secret(secret);
  Submit(GoodAd(1));
  ASSERT_TRUE(rx.WaitFor([](const auto& got) { return got.size() >= 3; }));
  auto got = rx.received();
  EXPECT_EQ(got[0].id, got[1].id);
  EXPECT_EQ(got[1].id, got[2].id);
  EXPECT_EQ(got[0].body, got[2].body);
  for (const auto& r : got) EXPECT_TRUE(r.signature_ok);
  // Delivered: nothing failed or parked.
  const auto deadline = Clock::now() + 5s;
  std::string all;
  while (Clock::now() < deadline) {
    all = adsd_->Call("GET", "/v1/webhooks/" + id + "/deliveries", kAcme).body;
    if (all.find("\"delivered\"") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(all.find("\"state\":\"delivered\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"attempts\":3"), std::string::npos) << all;
  EXPECT_EQ(adsd_->Call("GET", "/v1/webhooks/" + id + "/deliveries?status=failed", kAcme).body, R"({"deliveries":[]})");
  auto metrics = adsd_->Call("GET", "/metrics", kAdmin).body;
  EXPECT_NE(metrics.find("adsd_webhook_attempts_total{outcome=\"delivered\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("adsd_webhook_attempts_total{outcome=\"failed\"} 2"), std::string::npos);
}

// After the last attempt a delivery is parked, listed, and delivered when retried by hand.
TEST_F(NotifyE2E, ADeliveryIsParkedAndReplayed) {
  Start();
  Receiver rx;
  std::atomic<bool> up{false};
  rx.set_answer([&](const Received&) { return up ? 200 : 500; });
  auto [id, secret] = Register(rx.url(), kAcme, R"(["ad.submitted"])");
  rx.set_secret(secret);
  Submit(GoodAd(1));
  std::string parked;
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    parked = adsd_->Call("GET", "/v1/webhooks/" + id + "/deliveries?status=parked", kAcme).body;
    if (parked.find("msg_") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(parked.find("\"state\":\"parked\""), std::string::npos) << parked;
  EXPECT_NE(parked.find("\"attempts\":4"), std::string::npos) << parked;
  EXPECT_NE(parked.find("\"last_status\":500"), std::string::npos) << parked;
  EXPECT_EQ(rx.received().size(), 4u);
  const std::string delivery = "msg_" + parked.substr(parked.find("msg_") + 4, 36);
  EXPECT_NE(adsd_->Call("GET", "/metrics", kAdmin).body.find("adsd_webhook_deliveries{state=\"parked\"} 1"),
            std::string::npos);

  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks/" + id + "/deliveries/msg_nope/retry", kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks/" + id + "/deliveries/" + delivery + "/retry", kGlobex).status, 404);
  up = true;
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks/" + id + "/deliveries/" + delivery + "/retry", kAcme).status, 202);
  ASSERT_TRUE(rx.WaitFor([](const auto& got) { return got.size() >= 5; }));
  EXPECT_EQ(rx.received().back().id, delivery);
  EXPECT_TRUE(rx.received().back().signature_ok);
  std::string after;
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    after = adsd_->Call("GET", "/v1/webhooks/" + id + "/deliveries?status=delivered", kAcme).body;
    if (after.find(delivery) != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(after.find(delivery), std::string::npos) << after;
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks/" + id + "/deliveries/" + delivery + "/retry", kAcme).status, 409);
}

// An endpoint that never answers holds only its own lane: another retailer's endpoint is served
// at once.
TEST_F(NotifyE2E, ADeadEndpointDoesNotDelayAnotherRetailer) {
  Start({{"--webhook-response-timeout-ms", "5000"}});
  Receiver dead, live;
  dead.set_answer([](const Received&) { return 0; });  // hold every request
  auto [dead_id, dead_secret] = Register(dead.url(), kAcme);
  auto [live_id, live_secret] = Register(live.url(), kGlobex);
  live.set_secret(live_secret);
  for (int i = 0; i < 3; ++i) Submit(GoodAd(i), kAcme);
  ASSERT_TRUE(dead.WaitFor([](const auto& got) { return !got.empty(); }));  // acme's lane is stuck now
  const auto t0 = Clock::now();
  Submit(GoodAd(10), kGlobex);
  ASSERT_TRUE(live.WaitFor([](const auto& got) { return got.size() >= 2; }, 3s));  // submitted and approved
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(dead.received().size(), 1u);  // still the first, unanswered
  dead.Release();
}

// adsd killed while an endpoint holds a delivery: after the restart it is delivered again, with
// the same webhook-id (at least once), and nothing is lost.
TEST_F(NotifyE2E, AKillMidDeliveryRedeliversAfterRestart) {
  Start();
  Receiver rx;
  std::atomic<bool> hold{true};
  rx.set_answer([&](const Received&) { return hold ? 0 : 200; });
  auto [id, secret] = Register(rx.url(), kAcme, R"(["ad.submitted","ad.approved"])");
  rx.set_secret(secret);
  const std::string ad = Submit(GoodAd(1));
  ASSERT_TRUE(rx.WaitFor([](const auto& got) { return !got.empty(); }));
  const std::string first = rx.received().front().id;
  adsd_->Kill(SIGKILL);
  hold = false;
  rx.Release();  // the answer goes nowhere: adsd is gone
  Restart();
  ASSERT_TRUE(rx.WaitFor([&](const auto& got) {
    std::set<std::string> types;
    for (const auto& r : got) types.insert(Field(r.body, "type"));
    return types.size() == 2 && got.size() >= 3;
  })) << rx.received().size();
  auto got = rx.received();
  EXPECT_EQ(got[0].id, first);
  EXPECT_EQ(got[1].id, first);  // the same delivery, again, after the restart
  EXPECT_EQ(Field(got[1].body, "type"), "ad.submitted");
  EXPECT_EQ(Field(got.back().body, "type"), "ad.approved");
  for (const auto& r : got) EXPECT_TRUE(r.signature_ok);
}

TEST_F(NotifyE2E, RegistrationRefusesWhatItCannotDeliver) {
  Start();
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", kAcme, R"({"url":"ftp://x/","events":["ad.approved"]})").status, 422);
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", kAcme, R"({"url":"https://x.example/","events":["ad.nope"]})").status,
            422);
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", kAcme, R"({"url":"https://x.example/","events":[]})").status, 422);
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", kAcme, R"({"url":5})").status, 422);
  // Every bad field is named at once (the first one only, before), and a field given twice is one.
  auto both = adsd_->Call("POST", "/v1/webhooks", kAcme, R"({"url":5,"events":["ad.nope"]})");
  EXPECT_EQ(both.status, 422);
  EXPECT_NE(both.body.find(R"({"field":"url","code":"invalid")"), std::string::npos) << both.body;
  EXPECT_NE(both.body.find(R"({"field":"events","code":"invalid")"), std::string::npos) << both.body;
  auto empty = adsd_->Call("POST", "/v1/webhooks", kAcme, "{}");
  EXPECT_NE(empty.body.find(R"("field":"url")"), std::string::npos) << empty.body;
  EXPECT_NE(empty.body.find(R"("field":"events")"), std::string::npos) << empty.body;
  auto twice = adsd_->Call("POST", "/v1/webhooks", kAcme,
                           R"({"url":"http://127.0.0.1:1/a","url":"http://127.0.0.1:1/b","events":["ad.approved"]})");
  EXPECT_EQ(twice.status, 422) << twice.body;
  EXPECT_NE(twice.body.find(R"({"field":"url","code":"duplicate_field")"), std::string::npos) << twice.body;
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", kAcme, "not json").status, 400);
  EXPECT_EQ(
      adsd_->Call("POST", "/v1/webhooks", kAdmin, R"({"url":"http://127.0.0.1:1/","events":["ad.approved"]})").status,
      403);
  EXPECT_EQ(adsd_->Call("POST", "/v1/webhooks", "", R"({})").status, 401);
  // Without --webhooks-allow-private: loopback, private and plain http are refused.
  adsd_.reset();
  args_.clear();
  Restart();
  for (const char* url : {"http://shop.example.com/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook",
                          "https://169.254.169.254/latest", "https://[::1]/hook", "https://localhost/hook"}) {
    auto r =
        adsd_->Call("POST", "/v1/webhooks", kAcme, std::string(R"({"url":")") + url + R"(","events":["ad.approved"]})");
    EXPECT_EQ(r.status, 422) << url << " " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"url\""), std::string::npos) << r.body;
  }
}

// Webhooks work in the distributed shape too: the flag that only they use is taken with a
// PostgreSQL store (the start here fails only for the server it cannot reach).
TEST(NotifyOptions, TheDistributedShapeTakesTheWebhookFlag) {
  cqrs::testing::TempDir dir;
  const auto [status, out] =
      testing::Shell(std::string(ADSD_BINARY) + " --data-dir " + (dir.path() / "data").string() +
                     " --listen 127.0.0.1:0 --store postgresql://u@127.0.0.1:1/db --webhooks-allow-private 2>&1");
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("postgres: cannot connect"), std::string::npos) << out;
  EXPECT_EQ(out.find("webhooks"), std::string::npos) << out;
}

// The live stream: changes as they happen (id = log position), resumable with Last-Event-ID,
// heartbeats, a bounded number per retailer.
TEST_F(NotifyE2E, TheLiveStreamShowsChangesAndResumes) {
  Start({{"--streams-per-retailer", "2"}});
  SseClient live(adsd_->port(), kAcme);
  ASSERT_TRUE(live.ReadUntil(": stream open"));
  const std::string ad = Submit(GoodAd(1));
  Submit(GoodAd(2), kGlobex);
  ASSERT_TRUE(live.ReadUntil("event: ad.approved"));
  EXPECT_NE(live.data().find("text/event-stream"), std::string::npos);
  EXPECT_NE(live.data().find("id: 1\nevent: ad.submitted\ndata: {\"type\":\"ad.submitted\",\"ad_id\":\"" + ad),
            std::string::npos)
      << live.data();
  for (auto at = live.data().find("\"ad_id\":\""); at != std::string::npos;
       at = live.data().find("\"ad_id\":\"", at + 1)) {
    EXPECT_EQ(live.data().substr(at + 9, ad.size()), ad) << "another retailer's change in acme's stream";
  }
  ASSERT_TRUE(live.ReadUntil(": heartbeat"));

  // A second stream; a third is refused.
  SseClient resumed(adsd_->port(), kAcme, "Last-Event-ID: 1\r\n");
  ASSERT_TRUE(resumed.ReadUntil("event: ad.approved"));
  EXPECT_EQ(resumed.data().find("event: ad.submitted"), std::string::npos) << resumed.data();
  auto third = adsd_->Call("GET", "/v1/ads/stream", kAcme);
  EXPECT_EQ(third.status, 429);
  EXPECT_NE(third.head.find("Retry-After"), std::string::npos);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/stream", kAcme, "", "Last-Event-ID: x\r\n").status, 400);

  // An admin sees every retailer's changes, from the start of the log.
  SseClient admin(adsd_->port(), kAdmin, "Last-Event-ID: 0\r\n");
  ASSERT_TRUE(admin.ReadUntil("id: 4\n")) << admin.data();
  for (const char* id : {"id: 1\n", "id: 2\n", "id: 3\n"}) EXPECT_NE(admin.data().find(id), std::string::npos) << id;
}

// A Last-Event-ID past the log's head (from before a data reset, or made up) is no position of
// this log: the stream starts now, instead of skipping every change until the log reaches it.
TEST_F(NotifyE2E, ALastEventIdPastTheHeadStartsTheStreamNow) {
  Start();
  Submit(GoodAd(1));
  SseClient header(adsd_->port(), kAcme, "Last-Event-ID: 999999\r\n");
  ASSERT_TRUE(header.ReadUntil(": stream open")) << header.data();
  SseClient query(adsd_->port(), kAcme, "", "/v1/ads/stream?last_event_id=18446744073709551615");
  ASSERT_TRUE(query.ReadUntil(": stream open")) << query.data();
  const std::string ad = Submit(GoodAd(2));
  for (SseClient* c : {&header, &query}) {
    ASSERT_TRUE(c->ReadUntil("\"ad_id\":\"" + ad)) << c->data();
    EXPECT_EQ(c->data().find("id: 1\n"), std::string::npos) << "the earlier change is not replayed: " << c->data();
  }
}

}  // namespace
}  // namespace adsd::app
