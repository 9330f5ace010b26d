// The edge's rules over real sockets: request smuggling, Host, Expect, raw-path routing, header
// safety, bounded metrics labels, connection limits and file-descriptor exhaustion.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "http/server.h"
#include "http/target.h"
#include "http/test_client.h"

namespace adsd::http {
namespace {

using namespace std::chrono_literals;
using testing::Connection;

Router TestRouter() {
  Router router;
  router.Add("GET", "/v1/ads", [](Request&, Responder respond) { respond(Response::Json(200, R"({"list":true})")); },
             {.query_params = {"limit", "status"}});
  router.Add("GET", "/v1/ads/{id}", [](Request& req, Responder respond) {
    respond(Response::Json(200, "{\"id\":\"" + req.params["id"] + "\"}"));
  });
  router.Add("POST", "/v1/ads", [](Request& req, Responder respond) { respond(Response::Json(202, req.body)); });
  router.Add("GET", "/tagged", [](Request&, Responder respond) {
    Response r = Response::Json(200, R"({"version":7})");
    r.headers.emplace_back("ETag", "\"7\"");
    respond(std::move(r));
  });
  router.Add("GET", "/header", [](Request& req, Responder respond) {
    respond(Response{200, "text/plain", std::string(req.Header(req.Query("name").value_or("")).value_or("")), {}, {}});
  });
  router.Add("GET", "/unsafe", [](Request& req, Responder respond) {
    Response r = Response::Json(200, "{}");
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + std::string(req.Query("f").value_or("")) + "\"");
    respond(std::move(r));
  });
  return router;
}

class EdgeTest : public ::testing::Test {
 protected:
  void Start(ServerOptions o = {}) {
    o.port = 0;
    o.request_timeout = 2s;
    auto s = Server::Start(o, router_, &metrics_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  void SetUp() override { Start(); }
  void TearDown() override { server_->Stop(); }

  std::optional<testing::RawResponse> Roundtrip(const std::string& bytes) {
    Connection c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(bytes);
    return c.Receive(5s);
  }

  Router router_ = TestRouter();
  Metrics metrics_;
  std::unique_ptr<Server> server_;
};

TEST_F(EdgeTest, TransferEncodingNotEndingInChunkedIs400AndCloses) {
  for (const std::string te : {"gzip", "chunked, gzip", "identity", "gzip, chunked", "chunked, chunked", "x"}) {
    Connection c(server_->port());
    // What follows the header would be the next request if the body were read as empty.
    c.Send("POST /v1/ads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: " + te +
           "\r\n\r\nGET /v1/ads/smuggled HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.Receive(5s);
    ASSERT_TRUE(r) << te;
    EXPECT_EQ(r->status, 400) << te;
    EXPECT_NE(r->head.find("Connection: close"), std::string::npos) << te;
    EXPECT_TRUE(c.ClosedByPeer(5s)) << te;
    EXPECT_EQ(r->body.find("smuggled"), std::string::npos);
  }
  // Chunked itself, in any case, still works.
  auto ok = Roundtrip(
      "POST /v1/ads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 202);
  EXPECT_EQ(ok->body, "{}");
}

TEST_F(EdgeTest, MissingOrDuplicateOrInvalidHostIs400) {
  EXPECT_EQ(Roundtrip("GET /v1/ads HTTP/1.1\r\n\r\n")->status, 400);
  EXPECT_EQ(Roundtrip("GET /v1/ads HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")->status, 400);
  EXPECT_EQ(Roundtrip("GET /v1/ads HTTP/1.1\r\nHost: a b/c\r\n\r\n")->status, 400);
  EXPECT_EQ(Roundtrip("GET /v1/ads HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")->status, 200);
  EXPECT_EQ(Roundtrip("GET /v1/ads HTTP/1.0\r\n\r\n")->status, 200);  // HTTP/1.0 may omit it
}

TEST_F(EdgeTest, AbsoluteFormTargetIsServed) {
  auto r = Roundtrip("GET http://example.com:8080/v1/ads/abc HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"id":"abc"})");
}

TEST_F(EdgeTest, Expect100ContinueIsAnsweredBeforeTheBodyIsSent) {
  Connection c(server_->port());
  c.Send(
      "POST /v1/ads HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Expect: 100-continue\r\n\r\n");
  auto interim = c.Receive(5s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.Send("{}");
  auto r = c.Receive(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
}

TEST_F(EdgeTest, EncodedSlashIsDataNotASeparator) {
  EXPECT_EQ(Roundtrip(testing::Get("/v1%2Fads"))->status, 404);
  EXPECT_EQ(Roundtrip(testing::Get("/v1%2fads"))->status, 404);
  auto r = Roundtrip(testing::Get("/v1/ads/a%2Fb"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"id":"a/b"})");  // decoded after routing
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads/%zz"))->status, 400);
}

// Routed as sent: an empty segment is a segment, so a doubled or trailing slash is another path.
TEST_F(EdgeTest, EmptySegmentsAreNotCollapsed) {
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads"))->status, 200);
  EXPECT_EQ(Roundtrip(testing::Get("/v1//ads"))->status, 404);
  EXPECT_EQ(Roundtrip(testing::Get("//v1/ads"))->status, 404);
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads/"))->status, 404);  // not the listing, and no ad named ""
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads//"))->status, 404);
  auto r = Roundtrip(testing::Get("/v1/ads/x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(EdgeTest, ProblemBodiesEchoingRawBytesAreValidUtf8) {
  auto r = Roundtrip(testing::Get("/nope%FF\xFF\xC0\xAF"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(IsValidUtf8(r->body)) << r->body;
  EXPECT_NE(r->body.find("no route for /nope%FF"), std::string::npos) << r->body;
}

TEST_F(EdgeTest, AHeaderValueWithCrLfIsNeverWritten) {
  for (const std::string f : {"a%0d%0aSet-Cookie:%20x=1", "a%00b", "a%0ab"}) {
    auto r = Roundtrip(testing::Get("/unsafe?f=" + f));
    ASSERT_TRUE(r) << f;
    EXPECT_EQ(r->status, 500) << f;
    EXPECT_EQ(r->head.find("Set-Cookie"), std::string::npos) << r->head;
    EXPECT_EQ(r->head.find("Content-Disposition"), std::string::npos) << r->head;
  }
  EXPECT_EQ(Roundtrip(testing::Get("/unsafe?f=ok.csv"))->status, 200);
}

TEST_F(EdgeTest, MediaTypeParametersAreAccepted) {
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", "{}", "application/json ; charset=utf-8"))->status, 202);
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", "{}", "APPLICATION/Json"))->status, 202);
  EXPECT_EQ(Roundtrip(testing::Post("/v1/ads", "{}", "application/jsonp"))->status, 415);
}

TEST_F(EdgeTest, EveryAnswerIsNosniffAndCredentialedAnswersAreNoStore) {
  auto anonymous = Roundtrip(testing::Get("/v1/ads"));
  EXPECT_NE(anonymous->head.find("X-Content-Type-Options: nosniff"), std::string::npos) << anonymous->head;
  EXPECT_EQ(anonymous->head.find("no-store"), std::string::npos);
  auto missing = Roundtrip(testing::Get("/nope", "Authorization: Bearer x\r\n"));
  EXPECT_NE(missing->head.find("X-Content-Type-Options: nosniff"), std::string::npos);
  EXPECT_NE(missing->head.find("Cache-Control: no-store"), std::string::npos) << missing->head;
  auto ok = Roundtrip(testing::Get("/v1/ads", "Authorization: Bearer x\r\n"));
  EXPECT_NE(ok->head.find("Cache-Control: no-store"), std::string::npos) << ok->head;
}

TEST_F(EdgeTest, HeadIsAnsweredOnGetRoutesWithTheGetsHeadersAndNoContent) {
  auto get = Roundtrip(testing::Get("/v1/ads/abc"));
  ASSERT_TRUE(get);
  ASSERT_EQ(get->status, 200);
  // Pipelined after a HEAD: a byte of content after its head would be read as the next answer.
  Connection c(server_->port());
  c.Send("HEAD /v1/ads/abc HTTP/1.1\r\nHost: t\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n" +
         testing::Get("/v1/ads"));
  ASSERT_TRUE(c.ReadUntil(R"({"list":true})", 5s)) << c.buffered();
  const std::string& got = c.buffered();
  const auto first_end = got.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_EQ(got.substr(0, first_end), get->head) << "HEAD answers the GET's head, Content-Length included";
  const auto second = got.substr(first_end + 4);
  EXPECT_TRUE(second.starts_with("HTTP/1.1 404 ")) << got;
  const auto second_end = second.find("\r\n\r\n");
  ASSERT_NE(second_end, std::string::npos);
  EXPECT_TRUE(second.substr(second_end + 4).starts_with("HTTP/1.1 200 ")) << "the 404 to a HEAD has no content";
  // A path with GET allows HEAD too.
  auto post_only = Roundtrip("DELETE /v1/ads HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(post_only);
  EXPECT_EQ(post_only->status, 405);
  EXPECT_NE(post_only->head.find("Allow: GET, POST, HEAD\r\n"), std::string::npos) << post_only->head;
}

TEST_F(EdgeTest, IfNoneMatchNamingTheETagIs304WithoutContent) {
  for (const std::string inm : {"\"7\"", "W/\"7\"", "*", "\"1\", \"7\"", " \"1\" ,, W/\"7\" "}) {
    auto r = Roundtrip(testing::Get("/tagged", "If-None-Match: " + inm + "\r\n"));
    ASSERT_TRUE(r) << inm;
    EXPECT_EQ(r->status, 304) << inm;
    EXPECT_NE(r->head.find("ETag: \"7\""), std::string::npos) << r->head;
    // RFC 9110 §8.6: a 304's Content-Length could only be its 200's; none is sent, nor a type.
    EXPECT_EQ(Connection::Lower(r->head).find("content-length"), std::string::npos) << r->head;
    EXPECT_EQ(Connection::Lower(r->head).find("\ncontent-type:"), std::string::npos) << r->head;
    EXPECT_EQ(r->body, "");
  }
  for (const std::string inm : {"\"8\"", "\"77\"", "7", "\"7", "W/\"8\", \"9\""}) {
    auto r = Roundtrip(testing::Get("/tagged", "If-None-Match: " + inm + "\r\n"));
    ASSERT_TRUE(r) << inm;
    EXPECT_EQ(r->status, 200) << inm;
    EXPECT_EQ(r->body, R"({"version":7})");
  }
  // The same on HEAD; a route without an ETag is answered in full.
  Connection c(server_->port());
  c.Send("HEAD /tagged HTTP/1.1\r\nHost: t\r\nIf-None-Match: \"7\"\r\n\r\n");
  ASSERT_TRUE(c.ReadUntil("\r\n\r\n", 5s));
  EXPECT_TRUE(c.buffered().starts_with("HTTP/1.1 304 ")) << c.buffered();
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads", "If-None-Match: *\r\n"))->status, 200);
}

TEST_F(EdgeTest, IfMatchNamingNoCurrentETagIs412OnAGet) {
  for (const std::string im : {"\"8\"", "W/\"7\"", "7", "\"1\", \"2\"", ""}) {
    auto r = Roundtrip(testing::Get("/tagged", "If-Match: " + im + "\r\n"));
    ASSERT_TRUE(r) << im;
    EXPECT_EQ(r->status, 412) << im;
    EXPECT_NE(r->body.find("precondition-failed"), std::string::npos) << r->body;
    EXPECT_NE(r->head.find("ETag: \"7\""), std::string::npos) << r->head;
  }
  for (const std::string im : {"\"7\"", "*", "\"1\", \"7\""}) {
    EXPECT_EQ(Roundtrip(testing::Get("/tagged", "If-Match: " + im + "\r\n"))->status, 200) << im;
  }
  // If-Match is evaluated first (RFC 9110 §13.2.2); an answer without an ETag is left alone.
  EXPECT_EQ(Roundtrip(testing::Get("/tagged", "If-Match: \"8\"\r\nIf-None-Match: \"7\"\r\n"))->status, 412);
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads", "If-Match: \"8\"\r\n"))->status, 200);
}

TEST_F(EdgeTest, A405NamesTheMethodSent) {
  auto r = Roundtrip("BREW /v1/ads HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_NE(r->body.find("BREW is not allowed here"), std::string::npos) << r->body;
}

TEST_F(EdgeTest, ARepeatedQueryParameterIs400NamingIt) {
  auto r = Roundtrip(testing::Get("/v1/ads?limit=5&limit=500"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->head.find("application/problem+json"), std::string::npos);
  EXPECT_NE(r->body.find(R"("errors":[{"field":"limit","code":"repeated")"), std::string::npos) << r->body;
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads?limit=5&status=x"))->status, 200);
  // A parameter the route does not read is ignored, given once or twice.
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads?utm=a&utm=b"))->status, 200);
}

TEST_F(EdgeTest, AFragmentInTheTargetIs400) {
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads#x"))->status, 400);
  EXPECT_EQ(Roundtrip(testing::Get("/v1/ads/a%23b"))->status, 200);
}

TEST_F(EdgeTest, FieldsThatAreNotListsAreRefusedTwiceAndListsAreCombined) {
  for (const std::string name : {"Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"}) {
    auto r = Roundtrip(testing::Get("/v1/ads", name + ": a\r\n" + name + ": b\r\n"));
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->status, 400) << name;
    EXPECT_NE(r->body.find("more than one " + name), std::string::npos) << r->body;
  }
  auto im = Roundtrip(testing::Get("/header?name=if-match", "If-Match: \"1\"\r\nIf-Match: \"2\", \"3\"\r\n"));
  ASSERT_TRUE(im);
  EXPECT_EQ(im->body, R"("1", "2", "3")");
  auto inm = Roundtrip(testing::Get("/tagged", "If-None-Match: \"1\"\r\nIf-None-Match: \"7\"\r\n"));
  EXPECT_EQ(inm->status, 304);
}

TEST_F(EdgeTest, AnHttp10ClientIsToldTheConnectionStaysOpen) {
  Connection c(server_->port());
  c.Send("GET /v1/ads HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto kept = c.Receive(5s);
  ASSERT_TRUE(kept);
  EXPECT_NE(kept->head.find("Connection: keep-alive\r\n"), std::string::npos) << kept->head;
  c.Send("GET /v1/ads HTTP/1.0\r\n\r\n");
  auto last = c.Receive(5s);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_NE(last->head.find("Connection: close"), std::string::npos) << last->head;
  EXPECT_TRUE(c.ClosedByPeer(5s));
}

TEST_F(EdgeTest, EmptyLinesBeforeARequestLineAreIgnored) {
  // RFC 9112 §2.2: some clients send CRLF after a POST's body; the next request is still read.
  Connection c(server_->port());
  c.Send("\r\n" + testing::Post("/v1/ads", "{}") + "\r\n\r\n" + testing::Get("/v1/ads"));
  auto posted = c.Receive(5s);
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 202);
  auto listed = c.Receive(5s);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(listed->body, R"({"list":true})");
  EXPECT_EQ(Roundtrip("\r\nNOT HTTP\r\n\r\n")->status, 400) << "what follows them must still be a request";
}

TEST_F(EdgeTest, OptionsAsteriskListsTheServersMethods) {
  auto r = Roundtrip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_NE((r->head + "\r\n").find("\r\nAllow: GET, POST, HEAD\r\n"), std::string::npos) << r->head;
  EXPECT_EQ(Roundtrip("GET * HTTP/1.1\r\nHost: t\r\n\r\n")->status, 400) << "* is a target for OPTIONS only";
}

TEST_F(EdgeTest, MetricsMethodLabelIsABoundedSet) {
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::string method(1000 + rng() % 1000, 'A');
    for (char& ch : method) ch = static_cast<char>('A' + rng() % 26);
    auto r = Roundtrip(method + " /v1/ads HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
  }
  Roundtrip("BREW /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string text = metrics_.Exposition();
  EXPECT_LT(text.size(), 20'000u) << "the exposition grew with the methods sent";
  EXPECT_NE(text.find(R"(adsd_http_requests_total{method="other",route="-",status="405"} 50)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("AAAA"), std::string::npos);
}

TEST_F(EdgeTest, ConnectionsOverTheLimitGet503AndAreClosed) {
  server_->Stop();
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  Connection a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.Send(testing::Get("/v1/ads")));
  ASSERT_TRUE(b.Send(testing::Get("/v1/ads")));
  ASSERT_EQ(a.Receive(5s)->status, 200);  // both accepted, both kept alive
  ASSERT_EQ(b.Receive(5s)->status, 200);
  Connection c(server_->port());
  auto shed = c.Receive(5s);
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 503);
  EXPECT_NE(shed->head.find("Retry-After: 1"), std::string::npos) << shed->head;
  EXPECT_NE(shed->body.find("overloaded"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer(5s));
  // Room again once a connection closes (its session ends on the server's thread: retry, bounded).
  a.Send("GET /v1/ads HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(a.Receive(5s));
  ASSERT_TRUE(a.ClosedByPeer(5s));
  int status = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    Connection d(server_->port());
    d.Send(testing::Get("/v1/ads"));
    auto r = d.Receive(5s);
    status = r ? r->status : 0;
    if (status == 200) break;
  }
  EXPECT_EQ(status, 200);
}

// CPU seconds (user + system) a process has used, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string f;
  long ticks = 0;
  for (int i = 3; i <= 15; ++i) {  // fields 14 and 15: utime, stime
    fields >> f;
    if (i >= 14) ticks += std::stol(f);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A server in a child process whose file-descriptor limit is low: connections beyond it wait in
// the backlog while the acceptor backs off (no busy loop), and are served once fds free up.
TEST(EdgeFdExhaustion, AcceptBacksOffInsteadOfSpinningAndRecovers) {
  int ports[2], stop[2];
  ASSERT_EQ(pipe(ports), 0);
  ASSERT_EQ(pipe(stop), 0);
  const pid_t child = fork();  // no other thread runs in this test's process yet
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ports[0]);
    close(stop[1]);
    rlimit lim{40, 40};
    setrlimit(RLIMIT_NOFILE, &lim);
    Router router = TestRouter();
    ServerOptions o;
    o.port = 0;
    o.max_connections = 10'000;  // the fd limit, not the connection limit, is what runs out
    auto s = Server::Start(o, router, nullptr);
    if (!s.ok()) _exit(2);
    const std::uint16_t port = (*s)->port();
    if (write(ports[1], &port, sizeof port) != sizeof port) _exit(3);
    char byte;
    (void)!read(stop[0], &byte, 1);  // until the parent says stop (or dies)
    (*s)->Stop();
    _exit(0);
  }
  close(ports[1]);
  close(stop[0]);
  std::uint16_t port = 0;
  ASSERT_EQ(read(ports[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 60; ++i) {
    held.push_back(std::make_unique<Connection>(port));
    ASSERT_TRUE(held.back()->connected());  // the kernel's backlog takes what the server cannot
  }
  // The last ones are not served: the server is out of descriptors.
  held.back()->Send(testing::Get("/v1/ads"));
  EXPECT_FALSE(held.back()->Receive(300ms));
  const double before = CpuSeconds(child);
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);  // a measurement window, not a wait for a result
  const double used = CpuSeconds(child) - before;
  const double window = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(used / window, 0.2) << "the server used " << used << " s of CPU in " << window << " s while out of fds";
  held.resize(10);  // frees descriptors on both sides
  Connection late(port);
  ASSERT_TRUE(late.Send(testing::Get("/v1/ads")));
  auto r = late.Receive(10s);
  ASSERT_TRUE(r) << "the server did not recover from running out of file descriptors";
  EXPECT_EQ(r->status, 200);
  held.clear();
  close(stop[1]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace adsd::http
