// Private to server.cc (it includes Beast): one connection, plain TCP or TLS, and the state of
// the server it shares with its sibling connections.
//
// A session reads a request's header first and checks it (Host, Transfer-Encoding, Expect)
// before it reads the body, so that a request the server refuses never has its body parsed as
// the next request, and a client that sent `Expect: 100-continue` gets its interim answer.
#pragma once

#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"
#include "http/server.h"
#include "http/target.h"

namespace adsd::http::detail {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// What every connection of one server shares. Thread-safety: atomics, and mu_ for the drain.
struct ServerState {
  ServerState(const ServerOptions& o, const Router& r, Metrics* m) : options(o), router(r), metrics(m) {}
  const ServerOptions options;
  const Router& router;
  Metrics* metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int> inflight{0};     // requests being handled (drained by Stop)
  std::atomic<int> connections{0};  // open connections (bounded by options.max_connections)
  std::mutex mu;
  std::condition_variable drained;

  void RequestDone() {
    if (inflight.fetch_sub(1) == 1) {
      std::lock_guard lock(mu);  // so that a Stop() about to wait cannot miss it
      drained.notify_all();
    }
  }
};

// Checks a request's header before its body is read; an answer when it must be refused.
std::optional<Response> CheckHeader(const bhttp::request_parser<bhttp::string_body>& parser);
// The Request handlers see, or the 400 answer for a target that cannot be routed.
std::optional<Response> ToRequest(bhttp::request<bhttp::string_body>& msg, Request& req);
// The answer to write, after the edge's rules: unsafe header values turn it into a 500;
// X-Content-Type-Options everywhere, Cache-Control: no-store on authenticated requests.
bhttp::response<bhttp::string_body> ToMessage(Response response, bool authenticated);
// A metrics label for a method: the known methods as they are, anything else "other".
std::string MethodLabel(std::string_view method);
// Whether the client expects 100 Continue before it sends the body.
bool ExpectsContinue(const bhttp::request_parser<bhttp::string_body>& parser);

// One connection: reads a request, dispatches it, writes the answer, and again while kept alive.
// `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(ServerState& server, Args&&... args) : stream_(std::forward<Args>(args)...), server_(server) {}
  ~Session() { server_.connections.fetch_sub(1); }

  void Start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->CloseTcp();
        self->Read();
      });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void Read() {
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->OnHeader(ec);
    });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    if (auto refused = CheckHeader(*parser_)) {
      ++server_.inflight;
      return Write(std::move(*refused), false, false, "-", "other", Clock::now());
    }
    if (ExpectsContinue(*parser_)) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code wec, std::size_t) {
        if (wec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    const auto now = Clock::now();
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof || ec == ssl::error::stream_truncated) {
      return Close();
    }
    if (ec) {
      ++server_.inflight;
      if (ec == bhttp::error::body_limit) {
        return Write(Problem(413, "body-too-large", "Request body too large",
                             "the body is larger than " + std::to_string(server_.options.body_limit) + " bytes"),
                     false, false, "-", "other", now);
      }
      if (ec == bhttp::error::header_limit) {
        return Write(Problem(431, "headers-too-large", "Request header fields too large",
                             "the headers are larger than " + std::to_string(server_.options.header_limit) + " bytes"),
                     false, false, "-", "other", now);
      }
      return Write(Problem(400, "bad-request", "Malformed HTTP request", ec.message()), false, false, "-", "other", now);
    }
    Dispatch(parser_->release());
  }

  void Dispatch(bhttp::request<bhttp::string_body> msg);

  void Write(Response response, bool keep_alive, bool authenticated, const std::string& route,
             const std::string& method, Clock::time_point started) {
    keep_alive = keep_alive && !server_.stopping.load();
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(ToMessage(std::move(response), authenticated));
    res->keep_alive(keep_alive);
    res->prepare_payload();
    // Counted when the answer is ready, before it is sent: a client that has read its answer can
    // rely on seeing it in /metrics.
    if (server_.metrics != nullptr) {
      server_.metrics->ObserveRequest(route, method, static_cast<int>(res->result_int()),
                                      std::chrono::duration<double>(Clock::now() - started).count());
    }
    bhttp::async_write(stream_, *res, [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      self->server_.RequestDone();
      if (ec || !keep_alive) return self->Close();
      self->Read();
    });
  }

  void Close() {
    if constexpr (kTls) {
      // close_notify, bounded: a peer that does not answer it is cut off when the timer fires.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->CloseTcp(); });
    } else {
      CloseTcp();
    }
  }

  void CloseTcp() {
    beast::error_code ec;
    auto& tcp_stream = beast::get_lowest_layer(stream_);
    tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_stream.close();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  ServerState& server_;
};

template <class Stream>
void Session<Stream>::Dispatch(bhttp::request<bhttp::string_body> msg) {
  const auto started = Clock::now();
  ++server_.inflight;
  const bool keep_alive = msg.keep_alive();
  const bool authenticated = msg.find(bhttp::field::authorization) != msg.end();
  Request req;
  const std::string method = MethodLabel(std::string_view(msg.method_string().data(), msg.method_string().size()));
  if (auto refused = ToRequest(msg, req)) return Write(std::move(*refused), false, authenticated, "-", method, started);

  Router::Match match = server_.router.Find(req.method, req.path);
  if (match.route == nullptr) {
    if (!match.allow.empty()) {
      Response r = Problem(405, "method-not-allowed", "Method not allowed",
                           method + " is not allowed here; allowed: " + match.allow);
      r.headers.emplace_back("Allow", match.allow);
      return Write(std::move(r), keep_alive, authenticated, "-", method, started);
    }
    return Write(Problem(404, "not-found", "Not found", "no route for " + req.path), keep_alive, authenticated, "-",
                 method, started);
  }
  const Route& route = *match.route;
  req.params = std::move(match.params);
  req.route = route.pattern;
  if (!req.body.empty() || req.method == "POST" || req.method == "PATCH" || req.method == "PUT") {
    const std::string_view want = route.options.body_content_type;
    if (!want.empty() && !MediaTypeIs(req.Header("Content-Type").value_or(""), want)) {
      return Write(Problem(415, "unsupported-media-type", "Unsupported media type",
                           "send the body as " + std::string(want)),
                   keep_alive, authenticated, route.pattern, method, started);
    }
  }
  auto self = this->shared_from_this();
  Responder responder([self, keep_alive, authenticated, route = route.pattern, method, started](Response r) {
    // Answers may come from any thread: hop back onto this connection's thread to write (at
    // once when the handler answered on it).
    net::dispatch(self->stream_.get_executor(), [self, r = std::move(r), keep_alive, authenticated, route, method,
                                                 started]() mutable {
      self->Write(std::move(r), keep_alive, authenticated, route, method, started);
    });
  });
  try {
    route.handler(req, responder);
  } catch (const std::exception& e) {  // a handler bug must not take the server down
    responder(Problem(500, "internal", "Internal error", "the request failed"));
  }
}

}  // namespace adsd::http::detail
