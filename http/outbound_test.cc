// Outbound calls (webhooks): URL rules, the address policy, timeouts, and TLS verification
// against real local servers (plain and TLS, the latter with a certificate made by openssl).
#include "http/outbound.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "http/server.h"

namespace adsd::http {
namespace {

using namespace std::chrono_literals;

TEST(OutboundUrl, HttpsByDefault) {
  auto u = ParseOutboundUrl("https://hooks.example.com/adsd?x=1", PrivateAddresses::kRefuse);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/adsd?x=1");
  u = ParseOutboundUrl("https://[2001:db8::1]:8443", PrivateAddresses::kRefuse);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(ParseOutboundUrl("http://hooks.example.com/", PrivateAddresses::kRefuse).ok());
  EXPECT_TRUE(ParseOutboundUrl("http://hooks.example.com/", PrivateAddresses::kAllow).ok());
  for (const char* bad :
       {"ftp://x/", "https://", "https:///x", "https://u:p@x.example/", "https://x.example/#f", "https://x.example:0/",
        "https://x.example:99999/", "https://x .example/", "https://x.example/\n", "https://[::1/"}) {
    EXPECT_FALSE(ParseOutboundUrl(bad, PrivateAddresses::kAllow).ok()) << bad;
  }
}

TEST(OutboundUrl, OnlyPublicAddresses) {
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "2001:4860:4860::8888"}) {
    EXPECT_TRUE(IsPublicAddress(ip)) << ip;
  }
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                         "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
                         "fd12::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an ip"}) {
    EXPECT_FALSE(IsPublicAddress(ip)) << ip;
  }
  auto local = ParseOutboundUrl("https://localhost/", PrivateAddresses::kRefuse);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(CheckOutboundHost(*local, PrivateAddresses::kRefuse).code(), cqrs::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckOutboundHost(*local, PrivateAddresses::kAllow).ok());
}

class OutboundCall : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = {}) {
    router_.Add("POST", "/ok", [this](Request& req, Responder respond) {
      {
        std::lock_guard lock(mu_);
        last_ = req;
      }
      respond(Response::Json(202, R"({"seen":true})"));
    });
    router_.Add("POST", "/never", [this](Request&, Responder respond) {
      std::lock_guard lock(mu_);
      held_.push_back(respond);
    });
    o.port = 0;
    o.drain_timeout = 50ms;
    auto s = Server::Start(o, router_, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  OutboundUrl Url(const std::string& scheme, const std::string& host, const std::string& path) {
    auto u = ParseOutboundUrl(scheme + "://" + host + ":" + std::to_string(server_->port()) + path,
                              PrivateAddresses::kAllow);
    EXPECT_TRUE(u.ok());
    return *u;
  }

  Router router_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  Request last_;
  std::vector<Responder> held_;
};

TEST_F(OutboundCall, PostsWithHeadersAndReadsTheStatus) {
  StartServer();
  OutboundOptions o;
  o.private_addresses = PrivateAddresses::kAllow;
  auto r = PostOutbound(Url("http", "127.0.0.1", "/ok"), R"({"a":1})", {{"webhook-id", "msg_1"}}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"seen":true})");
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_.body, R"({"a":1})");
  EXPECT_EQ(last_.Header("webhook-id").value_or(""), "msg_1");
  EXPECT_EQ(last_.Header("content-type").value_or(""), "application/json");
}

TEST_F(OutboundCall, RefusesPrivateAddressesAtEveryCall) {
  StartServer();
  OutboundOptions o;  // kRefuse
  auto r = PostOutbound(Url("http", "127.0.0.1", "/ok"), "{}", {}, o);
  EXPECT_EQ(r.status().code(), cqrs::StatusCode::kInvalidArgument);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(last_.body.empty());  // never called
}

TEST_F(OutboundCall, TimesOutAndReportsRefusedConnections) {
  StartServer();
  OutboundOptions o;
  o.private_addresses = PrivateAddresses::kAllow;
  o.response_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = PostOutbound(Url("http", "127.0.0.1", "/never"), "{}", {}, o);
  EXPECT_EQ(r.status().code(), cqrs::StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  {
    std::lock_guard lock(mu_);
    for (auto& h : held_) h(Response::Json(200, "{}"));
    held_.clear();
  }
  auto closed = ParseOutboundUrl("http://127.0.0.1:1/", PrivateAddresses::kAllow);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(PostOutbound(*closed, "{}", {}, o).status().code(), cqrs::StatusCode::kUnavailable);
}

// Consecutive calls share one connection; one the server closed meanwhile is replaced without
// losing the call.
TEST_F(OutboundCall, AConnectionIsKeptAliveAndReplacedWhenClosed) {
  StartServer();
  OutboundOptions o;
  o.private_addresses = PrivateAddresses::kAllow;
  OutboundConnection c;
  const auto url = Url("http", "127.0.0.1", "/ok");
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post(url, "{}", {}, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 202);
  }
  // The server goes away and comes back (its idle connections closed): the next call connects again.
  const auto port = server_->port();
  server_->Stop();
  server_.reset();
  ServerOptions so;
  so.port = port;
  so.drain_timeout = 50ms;
  auto s = Server::Start(so, router_, nullptr);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  auto again = c.Post(url, "{}", {}, o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->status, 202);
}

int Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

TEST_F(OutboundCall, HttpsVerifiesTheCertificate) {
  const auto dir = std::filesystem::temp_directory_path() / ("outbound-tls-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  ASSERT_EQ(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                  "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                  key + " -out " + cert),
            0);
  ServerOptions so;
  so.tls_cert = cert;
  so.tls_key = key;
  StartServer(so);
  OutboundOptions o;
  o.private_addresses = PrivateAddresses::kAllow;
  // Not signed by a trusted authority: refused.
  auto untrusted = PostOutbound(Url("https", "127.0.0.1", "/ok"), "{}", {}, o);
  EXPECT_FALSE(untrusted.ok());
  // Trusted, by name and by address.
  o.ca_file = cert;
  auto by_name = PostOutbound(Url("https", "localhost", "/ok"), "{}", {}, o);
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(by_name->status, 202);
  auto by_ip = PostOutbound(Url("https", "127.0.0.1", "/ok"), "{}", {}, o);
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().ToString();
  // Trusted, but the certificate names another host.
  ASSERT_EQ(Shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                  "-subj /CN=elsewhere -addext subjectAltName=DNS:elsewhere.example -keyout " +
                  key + ".2 -out " + cert + ".2"),
            0);
  server_->Stop();
  so.tls_cert = cert + ".2";
  so.tls_key = key + ".2";
  router_ = Router();
  StartServer(so);
  o.ca_file = cert + ".2";
  EXPECT_FALSE(PostOutbound(Url("https", "localhost", "/ok"), "{}", {}, o).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace adsd::http
