// The HTTP edge of a real adsd, end to end: waiting reads that hold no thread, header injection
// through the report's file name, canonical ids, raw-path routing, cursors, and TLS with a real
// client (curl, against a certificate made by openssl for the test); /readyz on a damaged read model.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/test_ads.h"
#include "cqrs/core/testing/temp_dir.h"

namespace adsd::app {
namespace {

using namespace std::chrono_literals;
using testing::AdsdProcess;
using testing::AdTitled;
using testing::Field;
using testing::kAcme;
using testing::kAdmin;
using testing::kGlobex;
using testing::kGoodAd;
using testing::Shell;

class EdgeE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void Start(const std::vector<std::string>& args = {}) {
    adsd_ = std::make_unique<AdsdProcess>(dir_.path() / "data", GetParam(), std::vector<std::string>{}, args);
    ASSERT_TRUE(adsd_->started());
  }
  // Waits (bounded) until the read side has the ad's write at `position` and its verdict.
  AdsdProcess::Reply ReadDecided(const std::string& id, std::string position, const char* token) {
    // The verdict is a new version: the ETag must be the last one.
    AdsdProcess::Reply read;
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      read = adsd_->Call(
          "GET", "/v1/ads/" + id + "?min_position=" + (position.empty() ? "0" : position) + "&wait_ms=10000", token);
      if (read.status != 200 || Field(read.body, "status") != "pending") break;
      position = std::to_string(std::stoull(position) + 1);  // a later event: the verdict
    }
    EXPECT_EQ(read.status, 200) << read.body;
    EXPECT_NE(Field(read.body, "status"), "pending");
    return read;
  }
  static std::string ETag(const AdsdProcess::Reply& r) {
    const auto at = r.head.find("ETag: ");
    return at == std::string::npos ? "" : r.head.substr(at + 6, r.head.find("\r\n", at) - at - 6);
  }
  // Submits an ad and waits until it is decided; returns {id, ETag}.
  std::pair<std::string, std::string> SubmitAndRead(const std::string& body, const char* token) {
    auto r = adsd_->Call("POST", "/v1/ads", token, body);
    EXPECT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = Field(r.body, "ad_id");
    return {id, ETag(ReadDecided(id, Field(r.body, "position"), token))};
  }

  cqrs::testing::TempDir dir_;
  std::unique_ptr<AdsdProcess> adsd_;
};

// Finding 2: reads waiting for a far-future position once filled the blocking pool, and another
// retailer's writes queued behind them for the whole wait.
TEST_P(EdgeE2E, WaitingReadsDoNotDelayAnotherRetailersWrites) {
  Start();
  const auto [acme_ad, acme_etag] = SubmitAndRead(AdTitled("Acme boots"), kAcme);
  const auto [globex_ad, globex_etag] = SubmitAndRead(AdTitled("Globex boots"), kGlobex);
  ASSERT_FALSE(globex_etag.empty());

  constexpr int kWaits = 40;  // more than the 32 blocking threads
  std::vector<std::unique_ptr<http::testing::Connection>> waits;
  for (int i = 0; i < kWaits; ++i) {
    waits.push_back(std::make_unique<http::testing::Connection>(adsd_->port()));
    ASSERT_TRUE(waits.back()->Send("GET /v1/ads/" + acme_ad +
                                   "?min_position=1000000000000&wait_ms=5000 HTTP/1.1\r\n"
                                   "Host: t\r\nAuthorization: Bearer " +
                                   std::string(kAcme) + "\r\n\r\n"));
  }
  EXPECT_EQ(adsd_->Call("GET", "/healthz", "").status, 200);  // the waits have been read by now

  // Another retailer's writes finish while every wait is still waiting (their deadline is 5 s).
  auto patched = adsd_->Call("PATCH", "/v1/ads/" + globex_ad, kGlobex, R"({"bid_cents":150})",
                             "If-Match: " + globex_etag + "\r\n");
  EXPECT_EQ(patched.status, 202) << patched.body;
  auto posted = adsd_->Call("POST", "/v1/ads", kGlobex, AdTitled("Globex hats"));
  EXPECT_TRUE(posted.status == 201 || posted.status == 202) << posted.status << " " << posted.body;
  for (auto& w : waits) {
    EXPECT_FALSE(w->Receive(20ms)) << "a wait ended before the other retailer's writes finished";
  }
  // Then each wait ends at its deadline with a 503 the client may retry.
  for (auto& w : waits) {
    auto r = w->Receive(30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_NE(r->body.find("read-model-behind"), std::string::npos) << r->body;
    EXPECT_NE(r->head.find("Retry-After: 1"), std::string::npos);
  }
}

// Finding 3: the admin's retailer parameter went into Content-Disposition as it was.
TEST_P(EdgeE2E, ReportRetailerCannotInjectHeaders) {
  Start();
  for (const std::string bad : {"acme%0d%0aSet-Cookie:%20x=1", "acme%00", "acme%ff", "acme%0a", ""}) {
    auto r = adsd_->Call("GET", "/v1/reports/daily?date=2026-01-02&retailer=" + bad, kAdmin);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.head.find("Set-Cookie"), std::string::npos) << r.head;
    EXPECT_NE(r.body.find("\"field\":\"retailer\""), std::string::npos) << r.body;
  }
  // Quotes and non-ASCII are names, not syntax: a safe RFC 6266 header.
  auto r = adsd_->Call("GET", "/v1/reports/daily?date=2026-01-02&retailer=a%22c%C3%A9%3B%20x", kAdmin);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.head.find("Content-Disposition: attachment; filename=\"ads-a_c____x-2026-01-02.csv\"; "
                        "filename*=UTF-8''ads-a%22c%C3%A9%3B%20x-2026-01-02.csv\r\n"),
            std::string::npos)
      << r.head;
  auto own = adsd_->Call("GET", "/v1/reports/daily?date=2026-01-02", kAcme);
  EXPECT_NE(own.head.find("filename=\"ads-acme-2026-01-02.csv\""), std::string::npos) << own.head;
  EXPECT_NE(own.head.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_NE(own.head.find("X-Content-Type-Options: nosniff"), std::string::npos);
}

// Finding 10: one canonical (lower-case) id on every route; %2F never routes.
TEST_P(EdgeE2E, UpperCaseIdsAreTheSameAdOnEveryRoute) {
  Start();
  const auto [id, etag] = SubmitAndRead(kGoodAd, kAcme);
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, id);
  auto got = adsd_->Call("GET", "/v1/ads/" + upper, kAcme);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Field(got.body, "ad_id"), id);
  auto events = adsd_->Call("GET", "/v1/ads/" + upper + "/events", kAcme);
  EXPECT_EQ(events.status, 200);
  EXPECT_EQ(Field(events.body, "ad_id"), id);
  auto patched = adsd_->Call("PATCH", "/v1/ads/" + upper, kAcme, R"({"bid_cents":130})", "If-Match: " + etag + "\r\n");
  EXPECT_EQ(patched.status, 202) << patched.body;
  EXPECT_EQ(Field(patched.body, "ad_id"), id);
  ReadDecided(id, Field(patched.body, "position"), kAcme);  // the change's verdict is in: no race with it
  auto withdrawn = adsd_->Call("DELETE", "/v1/ads/" + upper, kAcme);
  EXPECT_EQ(withdrawn.status, 202) << withdrawn.body;
  EXPECT_EQ(Field(withdrawn.body, "ad_id"), id);
  // Another retailer still cannot see it, whatever the case.
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + upper, kGlobex).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + upper + "/events", kGlobex).status, 404);

  EXPECT_EQ(adsd_->Call("GET", "/v1%2Fads", kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads%2F" + id, kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads/" + id.substr(0, 8) + "%2F" + id.substr(9), kAcme).status, 404);
  EXPECT_EQ(adsd_->Call("GET", "http://api.example.com/v1/ads/" + id, kAcme).status, 200);  // absolute form
}

// A black-box audit: GET routes answered 405 to HEAD (with a body), an ad's ETag never gave a 304,
// and a repeated query parameter silently took its last value.
TEST_P(EdgeE2E, HeadAndIfNoneMatchOnAnAdAndRepeatedParameters) {
  Start();
  const auto [id, etag] = SubmitAndRead(kGoodAd, kAcme);
  ASSERT_FALSE(etag.empty());
  const std::string path = "/v1/ads/" + id;
  auto same = adsd_->Call("GET", path, kAcme, "", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(same.status, 304) << same.head;
  EXPECT_NE(same.head.find("ETag: " + etag), std::string::npos) << same.head;
  EXPECT_EQ(same.body, "");
  EXPECT_EQ(adsd_->Call("GET", path, kAcme, "", "If-None-Match: W/" + etag + "\r\n").status, 304);
  EXPECT_EQ(adsd_->Call("GET", path, kAcme, "", "If-None-Match: \"1\"\r\n").status, 200);
  EXPECT_EQ(adsd_->Call("GET", path, kGlobex, "", "If-None-Match: *\r\n").status, 404) << "never a 304 for a 404";
  auto changed = adsd_->Call("GET", path, kAcme, "", "If-Match: \"1\"\r\n");
  EXPECT_EQ(changed.status, 412) << changed.body;
  EXPECT_NE(changed.head.find("ETag: " + etag), std::string::npos) << changed.head;
  EXPECT_EQ(adsd_->Call("GET", path, kAcme, "", "If-Match: " + etag + "\r\n").status, 200);

  const auto get = adsd_->Call("GET", path, kAcme);
  http::testing::Connection c(adsd_->port());
  c.Send("HEAD " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kAcme + "\r\n\r\n" +
         "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.ReadUntil(R"({"status":"ok"})", 10s)) << c.buffered();
  const std::string& got = c.buffered();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 ")) << got;
  const auto end = got.find("\r\n\r\n");
  EXPECT_NE(got.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"), std::string::npos) << got;
  EXPECT_TRUE(got.substr(end + 4).starts_with("HTTP/1.1 200 ")) << "no content after the head: " << got;

  auto twice = adsd_->Call("GET", "/v1/ads?status=rejected&status=approved", kAcme);
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body.find(R"("field":"status")"), std::string::npos) << twice.body;
}

TEST_P(EdgeE2E, CursorThatOverflowsIsRefusedNamingIt) {
  Start();
  auto r = adsd_->Call("GET", "/v1/ads?cursor=99999999999999999999_" + std::string(36, 'a'), kAcme);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"cursor\""), std::string::npos) << r.body;
  auto max = adsd_->Call("GET", "/v1/ads?cursor=9223372036854775808_" + std::string(36, 'a'), kAcme);
  EXPECT_EQ(max.status, 400) << max.body;
  EXPECT_EQ(adsd_->Call("GET", "/v1/ads?cursor=9223372036854775807_" + std::string(36, 'a'), kAcme).status, 200);
}

TEST_P(EdgeE2E, MediaTypeWithParametersIsAccepted) {
  Start();
  http::testing::Connection c(adsd_->port());
  const std::string body = kGoodAd;
  c.Send("POST /v1/ads HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kAcme) +
         "\r\nContent-Type: Application/JSON ; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body);
  auto answer = c.Receive(30s);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->status == 201 || answer->status == 202) << answer->status << " " << answer->body;
}

TEST_P(EdgeE2E, AnUnrepresentableNumberIsAFieldErrorNotMalformedJson) {
  Start();
  for (const std::string n : {"1e400", "-1e400", "99999999999999999999999"}) {
    std::string ad = kGoodAd;
    ad.replace(ad.find("120"), 3, n);
    auto r = adsd_->Call("POST", "/v1/ads", kAcme, ad);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find(R"("field":"bid_cents")"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("malformed_json"), std::string::npos) << r.body;
  }
  // Broken JSON stays broken JSON, even with such a number in it.
  auto broken = adsd_->Call("POST", "/v1/ads", kAcme, R"({"bid_cents":1e400,)");
  EXPECT_EQ(broken.status, 400);
  EXPECT_NE(broken.body.find("malformed_json"), std::string::npos) << broken.body;
}

// TLS on the listener, with curl as the client and a certificate made for this test.
TEST_P(EdgeE2E, ServesHttpsOnlyWithTls12OrLater) {
  if (Shell("command -v curl >/dev/null && command -v openssl >/dev/null").first != 0) {
    GTEST_FAIL() << "curl and openssl are needed (scripts/install-deps.sh installs them)";
  }
  const std::string cert = (dir_.path() / "cert.pem").string(), key = (dir_.path() / "key.pem").string();
  ASSERT_EQ(
      Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
            "-addext subjectAltName=IP:127.0.0.1 -keyout " +
            key + " -out " + cert + " 2>&1")
          .first,
      0);
  Start({"--tls-cert", cert, "--tls-key", key});
  const std::string url = "https://127.0.0.1:" + std::to_string(adsd_->port());
  const std::string curl = "curl -sS --max-time 20 --cacert " + cert + " ";

  auto health = Shell(curl + "-o /dev/null -w '%{http_code}' " + url + "/healthz");
  EXPECT_EQ(health.first, 0);
  EXPECT_EQ(health.second, "200");
  // An authenticated write and read over TLS, with the edge's headers.
  auto posted = Shell(curl + "-H 'Authorization: Bearer " + kAcme + "' -H 'Content-Type: application/json' -d '" +
                      kGoodAd + "' " + url + "/v1/ads");
  ASSERT_EQ(posted.first, 0) << posted.second;
  const std::string id = Field(posted.second, "ad_id");
  ASSERT_FALSE(id.empty()) << posted.second;
  auto read = Shell(curl + "-i -H 'Authorization: Bearer " + kAcme + "' '" + url + "/v1/ads/" + id +
                    "?min_position=" + Field(posted.second, "position") + "&wait_ms=10000'");
  EXPECT_EQ(read.first, 0);
  EXPECT_NE(read.second.find("HTTP/1.1 200"), std::string::npos) << read.second;
  EXPECT_NE(read.second.find("Cache-Control: no-store"), std::string::npos) << read.second;
  EXPECT_NE(read.second.find("X-Content-Type-Options: nosniff"), std::string::npos) << read.second;

  // TLS 1.1 and older are refused; plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_NE(Shell(curl + "--tlsv1.0 --tls-max 1.1 -o /dev/null " + url + "/healthz 2>/dev/null").first, 0);
  EXPECT_EQ(Shell(curl + "--tlsv1.2 --tls-max 1.2 -o /dev/null " + url + "/healthz").first, 0);
  EXPECT_NE(adsd_->Call("GET", "/healthz", "").status, 200);
  // A client that does not trust the certificate refuses it (the server does not fall back).
  EXPECT_NE(Shell("curl -sS --max-time 20 -o /dev/null " + url + "/healthz 2>/dev/null").first, 0);
}

TEST_P(EdgeE2E, ConnectionsBeyondMaxConnectionsAreShed) {
  Start({"--max-connections", "3"});
  std::vector<std::unique_ptr<http::testing::Connection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<http::testing::Connection>(adsd_->port()));
    held.back()->Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(held.back()->Receive(10s));  // accepted and kept alive
  }
  auto r = adsd_->Call("GET", "/healthz", "");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.head.find("Retry-After"), std::string::npos);
  held.clear();
  int status = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       status != 200 && std::chrono::steady_clock::now() < deadline;) {
    status = adsd_->Call("GET", "/healthz", "").status;
  }
  EXPECT_EQ(status, 200);
}

INSTANTIATE_TEST_SUITE_P(Pipelines, EdgeE2E, ::testing::Values("async", "cqrs", "sync"));

// Refused starts: a usage error exits 2 with one line naming the option, before anything is
// created (a --listen with a host name, or a port with trailing junk, once made a data directory
// and then failed, or served port 80 for "80x80"); an IPv6 address is given in brackets.
TEST(StartupErrors, BadOptionsExit2NamingThemAndCreateNothing) {
  cqrs::testing::TempDir dir;
  const std::string data = (dir.path() / "data").string();
  const std::string adsd = std::string(ADSD_BINARY) + " --data-dir " + data + " ";
  for (const auto& [args, names] : std::vector<std::pair<std::string, std::string>>{
           {"--listen 127.0.0.1:80x80", "--listen"},
           {"--listen localhost:8080", "--listen"},
           {"--listen 127.0.0.1:65536", "--listen"},
           {"--listen 127.0.0.1:", "--listen"},
           {"--listen 127.0.0.1", "--listen"},
           {"--no-such-flag", "--no-such-flag"},
           {"--threads 0", "--threads"},
           {"--threads", "--threads"},
           {"--pipeline fast", "--pipeline"},
           {"--tls-cert /nonexistent/cert.pem --tls-key /nonexistent/key.pem", "--tls-cert"}}) {
    const auto [code, out] = Shell(adsd + args + " 2>&1");
    EXPECT_EQ(code, 2) << args << ": " << out;
    EXPECT_NE(out.find(names), std::string::npos) << args << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(data)) << args << " created the data directory";
  }
}

TEST(StartupErrors, ListensOnABracketedIpv6AddressAndPrintsAUsableUrl) {
  cqrs::testing::TempDir dir;
  const std::string log = (dir.path() / "out").string();
  // Started, its first line awaited (bounded), then stopped with SIGTERM.
  const auto [code, out] =
      Shell(std::string(ADSD_BINARY) + " --data-dir " + (dir.path() / "data").string() + " --listen '[::1]:0' > " +
            log + " 2>&1 & p=$!; for i in $(seq 300); do grep -q " + "'listening\\|adsd:' " + log +
            " && break; sleep 0.1; done; kill $p; wait $p; head -n 1 " + log);
  if (out.find("Cannot assign requested address") != std::string::npos) GTEST_SKIP() << "no IPv6 loopback: " << out;
  EXPECT_NE(out.find("adsd listening on http://[::1]:"), std::string::npos) << out;
}

// A damaged read model file (a bad disk, a careless copy): /readyz once said ready:false and no
// more. It must say why, and the process must go on serving what it can.
TEST(ReadModelDamage, ReadyzSaysTheReadModelFileIsUnreadable) {
  cqrs::testing::TempDir dir;
  const auto read_db = dir.path() / "read.db";
  AdsdProcess adsd(dir.path() / "data", "sync", {}, {"--read-db", "sqlite:" + read_db.string()});
  ASSERT_TRUE(adsd.started());
  auto posted = adsd.Call("POST", "/v1/ads", kAcme, AdTitled("Acme boots"));
  ASSERT_EQ(posted.status, 201) << posted.body;
  auto ready = adsd.Call("GET", "/readyz", "");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(Field(ready.body, "read_model"), "ok");
  EXPECT_EQ(Field(ready.body, "reason"), "");

  // Every byte of the file overwritten. The service's own checkpoints may write pages back
  // between two attempts, so the damage is repeated until seen (bounded).
  const auto size = std::filesystem::file_size(read_db);
  ASSERT_GT(size, 0u);
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
    {
      std::fstream f(read_db, std::ios::in | std::ios::out | std::ios::binary);
      for (std::uintmax_t i = 0; i < size; ++i) f.put(static_cast<char>(0xA5 ^ (i & 0xFF)));
    }
    ready = adsd.Call("GET", "/readyz", "");
    if (ready.status == 503) break;
  }
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(Field(ready.body, "ready"), "false");
  EXPECT_EQ(Field(ready.body, "read_model"), "unavailable");
  const std::string reason = Field(ready.body, "reason");
  EXPECT_NE(reason.find("read model database unreadable: "), std::string::npos) << ready.body;
  EXPECT_EQ(reason.find(read_db.string()), std::string::npos) << "no path to anyone: " << reason;
  EXPECT_EQ(reason.find("SELECT"), std::string::npos) << "no SQL to anyone: " << reason;

  // A file cut to nothing says why too, and writes and reads on it do not bring the process down.
  std::filesystem::resize_file(read_db, 0);
  adsd.Call("POST", "/v1/ads", kGlobex, AdTitled("Globex boots"));
  adsd.Call("GET", "/v1/ads/" + Field(posted.body, "ad_id"), kAcme);
  ready = adsd.Call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(Field(ready.body, "reason").find("read model database unreadable: "), std::string::npos) << ready.body;
  EXPECT_EQ(adsd.Ended(), "");
  EXPECT_EQ(adsd.Call("GET", "/healthz", "").status, 200);
}

}  // namespace
}  // namespace adsd::app
