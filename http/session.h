// Private to server.cc (it includes Beast): one connection, plain TCP or TLS, and the state of
// the server it shares with its sibling connections.
//
// A session reads a request's header first and checks it (Host, Transfer-Encoding, Expect)
// before it reads the body, so that a request the server refuses never has its body parsed as
// the next request, and a client that sent `Expect: 100-continue` gets its interim answer.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first
// clang-format on

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cqrs/core/mutex.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"
#include "http/server.h"
#include "http/stream.h"
#include "http/target.h"

namespace adsd::http::detail {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// The writer of one streamed answer (stream.h). `Pump` is the connection's side: it takes what is
// queued and writes it on the connection's thread. Thread-safety: mu guards the queue and state.
class StreamChannel : public StreamWriter {
 public:
  // `start_write` is called (under no lock) when bytes are queued and no write is in progress:
  // it must make the connection take them (post to its thread).
  StreamChannel(std::size_t limit, std::function<void()> start_write)
      : limit_(limit), start_write_(std::move(start_write)) {}

  bool Write(std::string bytes) override {
    bool start = false;
    {
      cqrs::MutexLock lock(mu_);
      if (ended_ || closing_) return false;
      if (queued_bytes_ + bytes.size() > limit_) {
        slow_ = true;  // the connection cuts the client off when it looks next
        start = !writing_;
        writing_ = true;
      } else {
        queued_bytes_ += bytes.size();
        queue_.push_back(std::move(bytes));
        start = !writing_;
        writing_ = true;
      }
    }
    if (start) start_write_();
    return !slow();
  }

  void Close() override {
    bool start = false;
    {
      cqrs::MutexLock lock(mu_);
      if (ended_ || closing_) return;
      closing_ = true;
      start = !writing_;
      writing_ = true;
    }
    if (start) start_write_();
  }

  void OnClose(std::function<void()> f) override {
    {
      cqrs::MutexLock lock(mu_);
      if (!ended_) {
        on_close_.push_back(std::move(f));
        return;
      }
    }
    f();
  }

  bool closed() const override {
    cqrs::MutexLock lock(mu_);
    return ended_;
  }

  // The connection's side. What to write next: the queued bytes (empty when none), whether the
  // route closed the stream, whether the client is too slow. When there is nothing, the channel
  // is marked idle (the next Write starts a write again).
  struct Next {
    std::string bytes;
    bool close = false;
    bool slow = false;
  };
  Next Take() {
    cqrs::MutexLock lock(mu_);
    Next n;
    n.slow = slow_;
    for (auto& b : queue_) n.bytes += b;
    queue_.clear();
    queued_bytes_ = 0;
    n.close = closing_;
    if (n.bytes.empty() && !n.close && !n.slow) writing_ = false;
    return n;
  }
  // The stream is over: refuse writes, run the callbacks (once).
  void End() {
    std::vector<std::function<void()>> callbacks;
    {
      cqrs::MutexLock lock(mu_);
      if (ended_) return;
      ended_ = true;
      callbacks.swap(on_close_);
      queue_.clear();
    }
    for (auto& f : callbacks) f();
  }

 private:
  bool slow() const {
    cqrs::MutexLock lock(mu_);
    return slow_;
  }

  const std::size_t limit_;
  const std::function<void()> start_write_;
  mutable cqrs::Mutex mu_;
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  std::size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool writing_ GUARDED_BY(mu_) = false;  // a write is posted or in progress
  bool closing_ GUARDED_BY(mu_) = false;  // Close() was called
  bool slow_ GUARDED_BY(mu_) = false;     // the client fell behind by more than limit_
  bool ended_ GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> on_close_ GUARDED_BY(mu_);
};

// What every connection of one server shares. Thread-safety: atomics, and mu_ for the drain.
struct ServerState {
  ServerState(const ServerOptions& o, const Router& r, Metrics* m) : options(o), router(r), metrics(m) {}
  const ServerOptions options;
  const Router& router;
  Metrics* metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int> inflight{0};     // requests being handled (drained by Stop)
  std::atomic<int> connections{0};  // open connections (bounded by options.max_connections)
  cqrs::Mutex mu;
  cqrs::CondVar drained;
  // Open streamed answers, so that Stop() can end them (their connections hold no request).
  std::vector<std::weak_ptr<StreamChannel>> streams GUARDED_BY(mu);

  void AddStream(const std::shared_ptr<StreamChannel>& c) {
    cqrs::MutexLock lock(mu);
    std::erase_if(streams, [](const auto& w) { return w.expired(); });
    streams.push_back(c);
  }
  std::vector<std::shared_ptr<StreamChannel>> OpenStreams() {
    cqrs::MutexLock lock(mu);
    std::vector<std::shared_ptr<StreamChannel>> out;
    for (const auto& w : streams) {
      if (auto c = w.lock()) out.push_back(std::move(c));
    }
    return out;
  }

  void RequestDone() {
    if (inflight.fetch_sub(1) == 1) {
      cqrs::MutexLock lock(mu);  // so that a Stop() about to wait cannot miss it
      drained.SignalAll();
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
// A GET's or HEAD's conditional fields, evaluated on its answer once the route made it.
struct Preconditions {
  std::optional<std::string> if_match, if_none_match;
};
// RFC 9110 §13.2.2, for a 200 with an ETag: an If-Match that names no current tag (strongly)
// turns it into a 412 precondition-failed; an If-None-Match that names it (weakly) into a 304,
// its headers kept and its content dropped. Any other answer is left as it is.
void AnswerPreconditions(Response& response, const Preconditions& conditions);
// A method as a problem detail names it: as sent, cut short when it is very long.
std::string MethodForDetail(std::string_view method);
// Whether the client expects 100 Continue before it sends the body.
bool ExpectsContinue(const bhttp::request_parser<bhttp::string_body>& parser);

// One connection: reads a request, dispatches it, writes the answer, and again while kept alive.
// `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(ServerState& server, Args&&... args) : stream_(std::forward<Args>(args)...), server_(server) {}
  ~Session() {
    server_.connections.fetch_sub(1);
    if (channel_) channel_->End();  // the server stopped with the stream open
  }

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
    head_ = false;
    http10_ = false;
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request line (some
    // clients send CRLF after a POST's body). Once per request: a stream of them is not a request.
    if (ec == bhttp::error::bad_method && !skipped_empty_lines_ && SkipEmptyLines()) {
      skipped_empty_lines_ = true;
      return Read();
    }
    skipped_empty_lines_ = false;
    if (ec) return OnRead(ec);
    head_ = parser_->get().method() == bhttp::verb::head;
    http10_ = parser_->get().version() < 11;
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
      if (ec == bhttp::error::header_limit && RequestLineTooLong()) {
        // RFC 9112 §3: a target longer than the server parses MUST be 414, not 431.
        return Write(
            Problem(414, "uri-too-long", "Request target too long",
                    "the request line is longer than " + std::to_string(server_.options.header_limit) + " bytes"),
            false, false, "-", "other", now);
      }
      if (ec == bhttp::error::header_limit) {
        return Write(Problem(431, "headers-too-large", "Request header fields too large",
                             "the headers are larger than " + std::to_string(server_.options.header_limit) + " bytes"),
                     false, false, "-", "other", now);
      }
      return Write(Problem(400, "bad-request", "Malformed HTTP request", ec.message()), false, false, "-", "other",
                   now);
    }
    Dispatch(parser_->release());
  }

  void Dispatch(bhttp::request<bhttp::string_body> msg);

  // Drops the empty lines (CRLF or LF) at the start of what was read; whether there were any.
  bool SkipEmptyLines() {
    const auto data = buffer_.data();
    const std::string_view read(static_cast<const char*>(data.data()), data.size());
    std::size_t n = 0;
    while (n < read.size() && (read[n] == '\r' || read[n] == '\n')) ++n;
    if (n == 0 || (n < read.size() && read[n - 1] != '\n')) return false;  // a lone CR is no empty line
    buffer_.consume(n);
    return true;
  }

  // After a header_limit error: whether the request line alone filled the limit, as opposed to the
  // header fields after it: the parser has not taken the line (it has no target) and what it left
  // in the buffer has no line end.
  bool RequestLineTooLong() const {
    if (!parser_->get().target().empty()) return false;
    const auto data = buffer_.data();
    const std::string_view read(static_cast<const char*>(data.data()), data.size());
    return read.find("\r\n") == std::string_view::npos;
  }

  void Write(Response response, bool keep_alive, bool authenticated, const std::string& route,
             const std::string& method, Clock::time_point started) {
    const bool streamed = static_cast<bool>(response.stream);
    if (streamed && !head_) return StartStream(std::move(response), authenticated, route, method, started);
    response.stream = nullptr;  // HEAD of a stream: its head alone; the route learns it never started
    keep_alive = keep_alive && !server_.stopping.load();
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(ToMessage(std::move(response), authenticated));
    res->keep_alive(keep_alive);
    // An HTTP/1.0 client closes after the answer unless told otherwise (RFC 9112 §9.3).
    if (keep_alive && http10_) res->set(bhttp::field::connection, "keep-alive");
    res->prepare_payload();
    // A 204 has no content, so no Content-Length either (RFC 9110 8.6: a server MUST NOT send one);
    // nor a 304, whose Content-Length could only be the one of the 200 it stands for.
    if (res->result() == bhttp::status::no_content || res->result() == bhttp::status::not_modified) {
      res->content_length(boost::none);
    }
    if (streamed) {  // as the GET's head says
      res->content_length(boost::none);
      res->chunked(true);
    }
    // Counted when the answer is ready, before it is sent: a client that has read its answer can
    // rely on seeing it in /metrics.
    if (server_.metrics != nullptr) {
      server_.metrics->ObserveRequest(route, method, static_cast<int>(res->result_int()),
                                      std::chrono::duration<double>(Clock::now() - started).count());
    }
    auto done = [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
      self->server_.RequestDone();
      if (ec || !keep_alive) return self->Close();
      self->Read();
    };
    if (head_) {
      // RFC 9110 §9.3.2: the answer to HEAD is the GET's head, Content-Length included, and no
      // content (a byte of it would be read as the start of the next answer).
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*res);
      bhttp::async_write_header(stream_, *sr,
                                [sr, done = std::move(done)](beast::error_code ec, std::size_t n) { done(ec, n); });
      return;
    }
    bhttp::async_write(stream_, *res, std::move(done));
  }

  // A streamed answer: the head with a chunked body, then the chunks the route queues on the
  // channel, until the route closes it, the client goes away or falls behind, or the server stops.
  // The request counts as done once the head is written (a stream must not hold up a drain).
  void StartStream(Response response, bool authenticated, const std::string& route, const std::string& method,
                   Clock::time_point started) {
    auto start = std::move(response.stream);
    auto head = std::make_shared<bhttp::response<bhttp::string_body>>(ToMessage(std::move(response), authenticated));
    head->body().clear();
    head->keep_alive(false);
    head->chunked(true);
    if (server_.metrics != nullptr) {
      server_.metrics->ObserveRequest(route, method, static_cast<int>(head->result_int()),
                                      std::chrono::duration<double>(Clock::now() - started).count());
    }
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*head);
    beast::get_lowest_layer(stream_).expires_after(server_.options.stream_write_timeout);
    bhttp::async_write_header(stream_, *sr,
                              [self = this->shared_from_this(), head, sr, start = std::move(start)](
                                  beast::error_code ec, std::size_t) mutable {
                                self->server_.RequestDone();
                                beast::get_lowest_layer(self->stream_).expires_never();
                                if (ec) return self->Close();
                                std::weak_ptr<Session> weak = self;
                                self->channel_ =
                                    std::make_shared<StreamChannel>(self->server_.options.stream_buffer_limit, [weak] {
                                      if (auto s = weak.lock())
                                        net::post(s->stream_.get_executor(), [s] { s->PumpStream(); });
                                    });
                                self->server_.AddStream(self->channel_);
                                self->WatchPeer();
                                start(self->channel_);
                              });
  }

  // Reads from the client while streaming, only to learn when it goes away.
  void WatchPeer() {
    stream_.async_read_some(net::buffer(peer_byte_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->EndStream();
                              self->WatchPeer();  // a client may send anything; it is not a request
                            });
  }

  void PumpStream() {
    if (!channel_ || channel_->closed()) return;
    StreamChannel::Next next = channel_->Take();
    if (next.slow) return EndStream();
    if (next.bytes.empty() && !next.close) return;
    auto frame = std::make_shared<std::string>();
    if (!next.bytes.empty()) {
      char size[20];
      std::snprintf(size, sizeof size, "%zx\r\n", next.bytes.size());
      *frame = size + next.bytes + "\r\n";
    }
    if (next.close) *frame += "0\r\n\r\n";
    beast::get_lowest_layer(stream_).expires_after(server_.options.stream_write_timeout);
    net::async_write(stream_, net::buffer(*frame),
                     [self = this->shared_from_this(), frame, close = next.close](beast::error_code ec, std::size_t) {
                       beast::get_lowest_layer(self->stream_).expires_never();
                       if (ec || close) return self->EndStream();
                       self->PumpStream();
                     });
  }

  void EndStream() {
    if (!channel_ || channel_->closed()) return;
    channel_->End();
    Close();
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
  std::shared_ptr<StreamChannel> channel_;  // a streamed answer's, once its head is written
  bool head_ = false;                       // the request being answered is HEAD: no content
  bool http10_ = false;                     // ... is HTTP/1.0: persistence must be said
  bool skipped_empty_lines_ = false;        // empty lines before this request were dropped already
  char peer_byte_[64];                      // WatchPeer's buffer
};

template <class Stream>
void Session<Stream>::Dispatch(bhttp::request<bhttp::string_body> msg) {
  const auto started = Clock::now();
  ++server_.inflight;
  const bool keep_alive = msg.keep_alive();
  const bool authenticated = msg.find(bhttp::field::authorization) != msg.end();
  Request req;
  const std::string method = MethodLabel(std::string_view(msg.method_string().data(), msg.method_string().size()));
  if (msg.target() == "*" && msg.method() == bhttp::verb::options) {
    // RFC 9110 §9.3.7: `OPTIONS *` asks what the server as a whole supports.
    Response r{204, "", "", {{"Allow", server_.router.Methods()}}, {}};
    return Write(std::move(r), keep_alive, authenticated, "-", method, started);
  }
  if (auto refused = ToRequest(msg, req)) return Write(std::move(*refused), false, authenticated, "-", method, started);

  Router::Match match = server_.router.Find(req.method, req.path);
  if (match.route == nullptr) {
    if (!match.allow.empty()) {
      // The method as sent (a token, so safe to echo), not its metrics label.
      Response r = Problem(405, "method-not-allowed", "Method not allowed",
                           MethodForDetail(req.method) + " is not allowed here; allowed: " + match.allow);
      r.headers.emplace_back("Allow", match.allow);
      return Write(std::move(r), keep_alive, authenticated, "-", method, started);
    }
    return Write(Problem(404, "not-found", "Not found", "no route for " + req.path), keep_alive, authenticated, "-",
                 method, started);
  }
  const Route& route = *match.route;
  req.params = std::move(match.params);
  req.route = route.pattern;
  for (const std::string& name : route.options.query_params) {
    if (!req.repeated_query.contains(name)) continue;
    return Write(Problem(400, "bad-parameter", "Bad query parameter", name + " is given more than once",
                         {{name, "repeated", "give " + name + " once"}}),
                 keep_alive, authenticated, route.pattern, method, started);
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PATCH" || req.method == "PUT") {
    const std::string_view want = route.options.body_content_type;
    if (!want.empty() && !MediaTypeIs(req.Header("Content-Type").value_or(""), want)) {
      return Write(
          Problem(415, "unsupported-media-type", "Unsupported media type", "send the body as " + std::string(want)),
          keep_alive, authenticated, route.pattern, method, started);
    }
  }
  Preconditions conditions;  // a GET's or HEAD's: its 200 may become a 304 or a 412
  if (req.method == "GET" || req.method == "HEAD") {
    if (auto h = req.Header("If-Match")) conditions.if_match = std::string(*h);
    if (auto h = req.Header("If-None-Match")) conditions.if_none_match = std::string(*h);
  }
  auto self = this->shared_from_this();
  Responder responder([self, keep_alive, authenticated, route = route.pattern, method, started,
                       conditions = std::move(conditions)](Response r) {
    AnswerPreconditions(r, conditions);
    // Answers may come from any thread: hop back onto this connection's thread to write (at
    // once when the handler answered on it).
    net::dispatch(self->stream_.get_executor(),
                  [self, r = std::move(r), keep_alive, authenticated, route, method, started]() mutable {
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
