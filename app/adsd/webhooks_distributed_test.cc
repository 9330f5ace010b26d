// Webhooks in the distributed shape, end to end on the test fixture's PostgreSQL and Kafka: an
// endpoint registered on a write process, listed from a read process, delivered by the worker
// that holds the delivery lock; that worker SIGKILLed while its deliveries are failing, and the
// standby worker delivering every change under the webhook-ids attempted before.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/test_ads.h"
#include "app/adsd/webhook_receiver.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/core/testing/wait_until.h"
#include "cqrs/pg/testing/test_servers.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::QueryCount;
using cqrs::testing::WaitUntil;
using testing::AdsdProcess;
using testing::Field;
using testing::kAcme;
using testing::kGlobex;
using testing::Received;
using testing::Receiver;

constexpr const char* kBadAd =
    R"({"title":"Guaranteed winter boots","landing_url":"https://bit.ly/boots","category":"apparel",)"
    R"("bid_cents":120,"currency":"USD","countries":["US"]})";

// A process's adsd_webhook_attempts_total for `outcome` (0 when it has none).
double Attempts(const AdsdProcess& p, const std::string& outcome) {
  const std::string body = p.Call("GET", "/metrics", "").body;
  const std::string key = "adsd_webhook_attempts_total{outcome=\"" + outcome + "\"} ";
  const auto at = body.find(key);
  return at == std::string::npos ? 0 : std::stod(body.substr(at + key.size()));
}

// The id of the first delivery of a GET …/deliveries answer; "" when none.
std::string FirstDeliveryId(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::padded_string s(body);
  simdjson::dom::element doc;
  simdjson::dom::array list;
  if (p.parse(s).get(doc) || doc["deliveries"].get_array().get(list) || list.size() == 0) return "";
  std::string_view id;
  if (list.at(0)["id"].get_string().get(id)) return "";
  return std::string(id);
}

class DistributedWebhooks : public ::testing::Test {
 protected:
  std::filesystem::path Data(const std::string& name) { return dir_.path() / name / "data"; }
  std::vector<std::string> Args(const std::string& role, const std::string& max_attempts = "100") {
    return {"--role",
            role,
            "--store",
            url_,
            "--bus",
            bus_,
            "--webhooks-allow-private",
            "--webhook-backoff-ms",
            "50",
            "--webhook-backoff-max-ms",
            "200",
            "--webhook-max-attempts",
            max_attempts,
            "--webhook-response-timeout-ms",
            "2000"};
  }
  std::int64_t Count(const std::string& sql) { return QueryCount(url_, sql); }
  cqrs::testing::TempDir dir_;
  std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::string bus_ =
      "kafka://" + cqrs::testing::TestKafkaBootstrap() + "?partitions=4&topic=t-" + cqrs::Uuid::V7().ToString();
};

TEST_F(DistributedWebhooks, TheLeadingWorkerDeliversAndTheStandbyTakesOverUnderTheSameIds) {
  AdsdProcess writer(Data("w"), "async", {}, Args("write"));
  AdsdProcess reader(Data("r"), "async", {}, Args("read"));
  std::unique_ptr<AdsdProcess> workers[2] = {
      std::make_unique<AdsdProcess>(Data("k1"), "async", std::vector<std::string>{}, Args("worker")),
      std::make_unique<AdsdProcess>(Data("k2"), "async", std::vector<std::string>{}, Args("worker"))};
  ASSERT_TRUE(writer.started() && reader.started() && workers[0]->started() && workers[1]->started());

  Receiver rx;
  std::atomic<bool> up{false};
  rx.set_answer([&](const Received&) { return up.load() ? 200 : 500; });
  auto reg = writer.Call("POST", "/v1/webhooks", kAcme,
                         R"({"url":")" + rx.url() + R"(","events":["ad.submitted","ad.approved","ad.rejected"]})");
  ASSERT_EQ(reg.status, 201) << reg.body;
  const std::string hook = Field(reg.body, "id");
  rx.set_secret(Field(reg.body, "secret"));
  // Registered on one process, seen by another at once; worker processes serve no webhook routes.
  auto listed = reader.Call("GET", "/v1/webhooks", kAcme);
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find(hook), std::string::npos) << listed.body;
  auto on_worker = workers[0]->Call("GET", "/v1/webhooks", kAcme);
  EXPECT_EQ(on_worker.status, 501);
  EXPECT_NE(on_worker.body.find("webhooks-unsupported"), std::string::npos) << on_worker.body;

  constexpr int kAds = 6;
  std::set<std::string> ads;
  for (int i = 0; i < kAds; ++i) {
    auto r = writer.Call("POST", "/v1/ads", kAcme, i % 3 == 2 ? std::string(kBadAd) : testing::UniqueGoodAd());
    ASSERT_EQ(r.status, 202) << r.body;
    ads.insert(Field(r.body, "ad_id"));
  }
  ASSERT_EQ(writer.Call("POST", "/v1/ads", kGlobex, testing::UniqueGoodAd()).status, 202);  // not acme's
  ASSERT_TRUE(WaitUntil(
      [&] {
        return QueryCount(url_, "SELECT count(*) FROM events WHERE type IN ('AdApproved', 'AdRejected')") == kAds + 1;
      },
      60s));

  // Every change fanned out, and the receiver failing them: the leader is the worker attempting.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return QueryCount(url_, "SELECT count(*) FROM webhook_deliveries") == 2 * kAds &&
               Attempts(*workers[0], "failed") + Attempts(*workers[1], "failed") >= 2 * kAds;
      },
      60s))
      << QueryCount(url_, "SELECT count(*) FROM webhook_deliveries") << " deliveries";
  auto leads = [](const AdsdProcess& p) {
    return p.Call("GET", "/metrics", "").body.find("\nadsd_webhook_leader 1\n") != std::string::npos;
  };
  ASSERT_TRUE(WaitUntil([&] { return leads(*workers[0]) != leads(*workers[1]); }, 10s));
  const int leader = leads(*workers[0]) ? 0 : 1;
  EXPECT_GT(Attempts(*workers[leader], "failed"), 0);
  EXPECT_EQ(Attempts(*workers[1 - leader], "failed"), 0) << "two workers delivering at once";
  std::set<std::string> attempted;
  for (const auto& r : rx.received()) attempted.insert(r.id);

  const auto killed = std::chrono::steady_clock::now();
  workers[leader]->Kill(SIGKILL);
  up.store(true);
  auto delivered = [](const std::vector<Received>& got) {
    std::set<std::string> ok;
    for (const auto& r : got) {
      if (r.answered == 200) ok.insert(r.id);
    }
    return ok;
  };
  ASSERT_TRUE(rx.WaitFor([&](const auto& got) { return delivered(got).size() >= 2 * kAds; }, 60s))
      << delivered(rx.received()).size() << " delivered";
  std::printf(
      "the standby delivered all %d changes %lld ms after the leader was killed\n", 2 * kAds,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count()));
  EXPECT_TRUE(leads(*workers[1 - leader]));
  const std::string ready = workers[1 - leader]->Call("GET", "/readyz", "").body;
  EXPECT_NE(ready.find(R"("webhooks":{"status":"ok","leader":true,"position":)"), std::string::npos) << ready;
  EXPECT_GT(Attempts(*workers[1 - leader], "delivered"), 0);

  // Every change once under one id, signed, the same body on every attempt, in order per ad.
  const auto got = rx.received();
  const auto ok = delivered(got);
  std::map<std::string, std::string> body_of;
  std::map<std::string, std::vector<std::string>> types_of;  // per ad, in order of first 2xx
  std::set<std::string> counted;
  for (const auto& r : got) {
    EXPECT_TRUE(r.signature_ok) << r.id;
    auto [it, fresh] = body_of.emplace(r.id, r.body);
    EXPECT_EQ(it->second, r.body) << "another body under " << r.id;
    const std::string ad = Field(r.body, "ad_id");
    EXPECT_TRUE(ads.contains(ad)) << "not acme's: " << r.body;
    if (r.answered == 200 && counted.insert(r.id).second) types_of[ad].push_back(Field(r.body, "type"));
  }
  EXPECT_EQ(body_of.size(), static_cast<std::size_t>(2 * kAds)) << "a change delivered under two ids";
  for (const auto& id : attempted) EXPECT_TRUE(ok.contains(id)) << id << " attempted, then not delivered";
  ASSERT_EQ(types_of.size(), static_cast<std::size_t>(kAds));
  for (const auto& [ad, types] : types_of) {
    ASSERT_EQ(types.size(), 2u) << ad;
    EXPECT_EQ(types[0], "ad.submitted") << ad;
    EXPECT_TRUE(types[1] == "ad.approved" || types[1] == "ad.rejected") << ad;
  }

  // The read process lists them delivered.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = reader.Call("GET", "/v1/webhooks/" + hook + "/deliveries?status=delivered", kAcme);
        std::size_t n = 0;
        for (auto at = r.body.find("\"state\":\"delivered\""); at != std::string::npos;
             at = r.body.find("\"state\":\"delivered\"", at + 1)) {
          ++n;
        }
        return r.status == 200 && n == 2 * kAds;
      },
      30s));
}

// The routes on one process, the delivery on another: a retry asked on a read process is sent by
// the worker within its lanes' poll; an endpoint removed on a write process gets nothing more;
// the per-retailer limit holds across processes.
TEST_F(DistributedWebhooks, ARetryAskedOnAReadProcessIsSentAndARemovedEndpointGetsNothingMore) {
  AdsdProcess writer(Data("w"), "async", {}, Args("write", "1"));
  AdsdProcess reader(Data("r"), "async", {}, Args("read", "1"));
  AdsdProcess worker(Data("k"), "async", {}, Args("worker", "1"));
  ASSERT_TRUE(writer.started() && reader.started() && worker.started());
  Receiver rx;
  std::atomic<bool> up{false};
  rx.set_answer([&](const Received&) { return up.load() ? 200 : 500; });
  auto reg = writer.Call("POST", "/v1/webhooks", kAcme, R"({"url":")" + rx.url() + R"(","events":["ad.submitted"]})");
  ASSERT_EQ(reg.status, 201) << reg.body;
  const std::string hook = Field(reg.body, "id");
  rx.set_secret(Field(reg.body, "secret"));
  ASSERT_EQ(writer.Call("POST", "/v1/ads", kAcme, testing::UniqueGoodAd()).status, 202);

  // One attempt, failed: parked, as the read process lists it.
  std::string parked;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto r = reader.Call("GET", "/v1/webhooks/" + hook + "/deliveries?status=parked", kAcme);
        parked = FirstDeliveryId(r.body);
        return !parked.empty();
      },
      30s));
  up.store(true);
  auto retried = reader.Call("POST", "/v1/webhooks/" + hook + "/deliveries/" + parked + "/retry", kAcme);
  ASSERT_EQ(retried.status, 202) << retried.body;
  ASSERT_TRUE(rx.WaitFor(
      [&](const auto& got) {
        for (const auto& r : got) {
          if (r.id == parked && r.answered == 200) return true;
        }
        return false;
      },
      20s));
  for (const auto& r : rx.received()) EXPECT_TRUE(r.signature_ok) << r.id;

  // Removed on the write process: its deliveries go, and a later change makes none.
  ASSERT_EQ(writer.Call("DELETE", "/v1/webhooks/" + hook, kAcme).status, 204);
  EXPECT_EQ(reader.Call("GET", "/v1/webhooks/" + hook + "/deliveries", kAcme).status, 404);
  const std::size_t seen = rx.received().size();
  ASSERT_EQ(writer.Call("POST", "/v1/ads", kAcme, testing::UniqueGoodAd()).status, 202);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Count("SELECT count(*) FROM events WHERE type = 'AdSubmitted'") == 2 &&
               Count("SELECT position FROM checkpoints WHERE name = 'webhooks'") >=
                   Count("SELECT position FROM log_head");
      },
      30s));
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries"), 0);
  EXPECT_EQ(rx.received().size(), seen);

  // The limit of 10 endpoints per retailer counts the registrations of every process.
  const std::string more = R"({"url":")" + rx.url() + R"(","events":["ad.changed"]})";
  for (int i = 0; i < 10; ++i) {
    const AdsdProcess& p = i % 2 == 0 ? writer : reader;
    EXPECT_EQ(p.Call("POST", "/v1/webhooks", kAcme, more).status, 201);
  }
  auto eleventh = reader.Call("POST", "/v1/webhooks", kAcme, more);
  EXPECT_EQ(eleventh.status, 409);
  EXPECT_NE(eleventh.body.find("too-many-webhooks"), std::string::npos) << eleventh.body;
}

}  // namespace
}  // namespace adsd::app
