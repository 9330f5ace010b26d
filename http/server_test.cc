#include "http/server.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "http/problem.h"
#include "http/test_client.h"

namespace adsd::http {
namespace {

using namespace std::chrono_literals;
using testing::Connection;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/v1/ads/{id}", [](Request& req, Responder respond) {
      respond(Response::Json(
          200, "{\"id\":\"" + req.params["id"] + "\",\"q\":\"" + std::string(req.Query("q").value_or("")) + "\"}"));
    });
    router_.Add("POST", "/v1/ads", [](Request& req, Responder respond) { respond(Response::Json(202, req.body)); });
    router_.Add("PATCH", "/v1/ads/{id}", [this](Request&, Responder respond) {
      {
        std::lock_guard lock(mu_);
        handler_entered_ = true;
      }
      entered_.notify_all();
      // Answered later from another thread, as after a durable write.
      std::thread([respond] {
        std::this_thread::sleep_for(20ms);  // simulated work, not a wait for a result
        respond(Response::Json(200, "{}"));
      }).detach();
    });
    router_.Add("DELETE", "/gone", [](Request&, Responder respond) { respond(Response{204, "", "", {}, {}}); });
    router_.Add("GET", "/forgotten", [](Request&, Responder) {});
    router_.Add("GET", "/throws", [](Request&, Responder) -> void { throw std::runtime_error("bug"); });
    ServerOptions o;
    o.port = 0;
    o.request_timeout = 300ms;
    o.body_limit = 1024;
    o.header_limit = 2048;
    auto s = Server::Start(o, router_, &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void TearDown() override { server_->Stop(); }

  std::optional<testing::RawResponse> Roundtrip(const std::string& bytes) {
    Connection c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(bytes);
    return c.Receive();
  }

  std::mutex mu_;
  std::condition_variable entered_;
  bool handler_entered_ = false;  // guarded by mu_
  Router router_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RoutesWithPathParamsAndQuery) {
  auto r = Roundtrip(testing::Get("/v1/ads/abc-1?q=a%20b+c"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"id":"abc-1","q":"a b c"})");
}

TEST_F(ServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  auto r = Roundtrip(testing::Get("/nope"));
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->head.find("application/problem+json"), std::string::npos);
  auto m = Roundtrip("DELETE /v1/ads/x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(m->status, 405);
  EXPECT_NE(m->head.find("Allow: GET, PATCH"), std::string::npos) << m->head;
}

TEST_F(ServerTest, WrongContentTypeIs415) {
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", "{}", "text/plain"))->status, 415);
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", "{}", "application/json; charset=utf-8"))->status, 202);
}

TEST_F(ServerTest, OversizedBodyIs413AndOversizedHeadersAre431) {
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", std::string(2000, 'x')))->status, 413);
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads/x", "X-Big: " + std::string(4000, 'h') + "\r\n"))->status, 431);
}

TEST_F(ServerTest, ATargetLongerThanTheLimitIs414) {
  auto r = Roundtrip(testing::Get("/v1/ads/" + std::string(4000, 'a')));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_NE(r->body.find("uri-too-long"), std::string::npos) << r->body;
  // A long target that fits, with fields that do not: the fields are too large.
  EXPECT_EQ(
      Roundtrip(testing::Get("/v1/ads/" + std::string(1500, 'a'), "X-Big: " + std::string(1000, 'h') + "\r\n"))->status,
      431);
}

TEST_F(ServerTest, NoContentHasNeitherContentLengthNorContentTypeAndKeepsTheConnection) {
  Connection c(server_->port());
  ASSERT_TRUE(c.Send("DELETE /gone HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(Connection::Lower(r->head).find("\ncontent-length:"), std::string::npos) << r->head;
  EXPECT_EQ(Connection::Lower(r->head).find("\ncontent-type:"), std::string::npos) << r->head;
  ASSERT_TRUE(c.Send(testing::Get("/v1/ads/next")));
  auto next = c.Receive();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Connection c(server_->port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.Send(testing::Get("/v1/ads/" + std::to_string(i))));
    auto r = c.Receive();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body.find(std::to_string(i)) != std::string::npos, true);
  }
}

TEST_F(ServerTest, AnswerFromAnotherThreadArrives) {
  auto r =
      Roundtrip("PATCH /v1/ads/1 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, UnansweredOrThrowingHandlerGives500) {
  EXPECT_EQ(Roundtrip(testing::Get("/forgotten"))->status, 500);
  EXPECT_EQ(Roundtrip(testing::Get("/throws"))->status, 500);
}

TEST_F(ServerTest, SlowClientIsDisconnected) {
  Connection c(server_->port());
  c.Send("GET /v1/ads/1 HTTP/1.1\r\nHost: t\r\n");  // never finishes its headers
  EXPECT_TRUE(c.ClosedByPeer(5s));
}

TEST_F(ServerTest, GarbageGets400OrACloseNeverACrash) {
  std::mt19937 rng(5);
  for (int i = 0; i < 200; ++i) {
    std::string junk = testing::Get("/v1/ads/1");
    for (int k = 0; k < 5; ++k) junk[rng() % junk.size()] = static_cast<char>(rng());
    Connection c(server_->port());
    c.Send(junk);
    auto r = c.Receive(2s);
    if (r) {
      EXPECT_TRUE(r->status == 400 || r->status == 404 || r->status == 200 || r->status == 405) << r->status;
    }
  }
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads/ok"))->status, 200);  // still serving
}

TEST_F(ServerTest, MetricsCountRequestsByRoutePattern) {
  Roundtrip(testing::Get("/v1/ads/a"));
  Roundtrip(testing::Get("/v1/ads/b"));
  const std::string text = metrics_.Exposition();
  EXPECT_NE(text.find(R"(adsd_http_requests_total{method="GET",route="/v1/ads/{id}",status="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("adsd_http_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(ServerTest, CountersAndGaugesAreExposedWithTheirTypes) {
  metrics_.AddCounter("test_things_total", "Things since start.", [] {
    return std::vector<Metrics::Sample>{{{{"kind", "a"}}, 3}};
  });
  metrics_.AddGauge("test_level", "A level.", [] { return std::vector<Metrics::Sample>{{{}, 1.5}}; });
  const std::string text = metrics_.Exposition();
  EXPECT_NE(text.find("# TYPE test_things_total counter\ntest_things_total{kind=\"a\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE test_level gauge\ntest_level 1.5\n"), std::string::npos) << text;
}

TEST_F(ServerTest, StopLetsAnInFlightRequestFinish) {
  Connection c(server_->port());
  c.Send("PATCH /v1/ads/1 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(entered_.wait_for(lock, 10s, [&] { return handler_entered_; }));
  }
  server_->Stop();
  auto r = c.Receive(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("Connection: close"), std::string::npos);
}

TEST(Problem, HasTheRfc9457Shape) {
  Response r = Problem(400, "validation", "The ad is not valid", "1 field is invalid",
                       {{"title", "too_long", "title is longer than 90 characters"}});
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body, R"({"type":"https://adsd.dev/problems/validation","title":"The ad is not valid","status":400,)"
                    R"("detail":"1 field is invalid","errors":[{"field":"title","code":"too_long",)"
                    R"("message":"title is longer than 90 characters"}]})");
}

}  // namespace
}  // namespace adsd::http
