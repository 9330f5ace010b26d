// The only translation unit that sees Beast and Asio (each costs seconds to compile).
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include <atomic>
#include <condition_variable>
#include <optional>
#include <thread>

#include "cqrs/core/thread_name.h"
#include "http/problem.h"
#include "http/server.h"

namespace adsd::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += (plus_is_space && c == '+') ? ' ' : c;
    }
  }
  return out;
}

bool ParseTarget(std::string_view target, Request& req) {
  const auto q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path || path->empty() || path->front() != '/') return false;
  req.path = std::move(*path);
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    req.query[*key] = *value;
  }
  return true;
}

class ServerImpl;

// One connection: reads a request, dispatches it, writes the answer, and again while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl& server) : stream_(std::move(socket)), server_(server) {}
  void Start() { Read(); }

 private:
  void Read();
  void OnRead(beast::error_code ec);
  void Dispatch(bhttp::request<bhttp::string_body> msg);
  void Write(Response response, bool keep_alive, const std::string& route, const std::string& method,
             Clock::time_point started);
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  ServerImpl& server_;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& o, const Router& r, Metrics* m)
      : options(o), router(r), metrics(m) {
    // One io_context per thread, each connection on one of them: a connection's handlers never
    // hop between threads, and need no strand (the I/O threads share nothing per request).
    for (int i = 0; i < std::max(1, o.threads); ++i) contexts_.push_back(std::make_unique<Context>());
    acceptor_.emplace(contexts_.front()->ioc);
  }
  ~ServerImpl() override { Stop(); }

  cqrs::Status Listen() {
    beast::error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) return cqrs::InvalidArgument("listen: '" + options.host + "' is not an IP address");
    const tcp::endpoint ep(address, options.port);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && options.reuse_port) {
      acceptor_->set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    }
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return cqrs::Unavailable("listen on " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (auto& c : contexts_) {
      c->thread = std::thread([ctx = c.get()] {
        cqrs::NameThisThread("http-io");
        ctx->ioc.run();
      });
    }
    return cqrs::Status::Ok();
  }

  std::uint16_t port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stopping.store(true);
    net::post(acceptor_->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
    });
    {
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, options.drain_timeout, [&] { return inflight.load() == 0; });
    }
    for (auto& c : contexts_) {
      c->work.reset();
      c->ioc.stop();
    }
    for (auto& c : contexts_) {
      if (c->thread.joinable()) c->thread.join();
    }
  }

  void RequestDone() {
    if (inflight.fetch_sub(1) == 1) {
      std::lock_guard lock(mu_);  // so that a Stop() about to wait cannot miss it
      drained_.notify_all();
    }
  }

  const ServerOptions options;
  const Router& router;
  Metrics* metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int> inflight{0};  // requests being handled (drained by Stop)
  std::mutex mu_;

 private:
  void Accept() {
    net::io_context& next = contexts_[next_context_++ % contexts_.size()]->ioc;
    acceptor_->async_accept(next, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
      } else {
        std::make_shared<Session>(std::move(socket), *this)->Start();
      }
      Accept();
    });
  }

  struct Context {
    net::io_context ioc{1};
    // Keeps the thread running while a handler works on a request and no socket operation is
    // pending (during a drain the acceptor is closed too): its answer must still be written.
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Context>> contexts_;
  std::size_t next_context_ = 0;  // used by the accept handler only (context 0's thread)
  std::optional<tcp::acceptor> acceptor_;
  std::condition_variable drained_;
  std::atomic<bool> stopped_{false};
  std::uint16_t port_ = 0;
};

void Session::Read() {
  parser_.emplace();
  parser_->body_limit(server_.options.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
  stream_.expires_after(server_.options.request_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
}

void Session::OnRead(beast::error_code ec) {
  const auto now = Clock::now();
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    return Close();
  }
  if (ec) {
    ++server_.inflight;
    if (ec == bhttp::error::body_limit) {
      return Write(Problem(413, "body-too-large", "Request body too large",
                           "the body is larger than " + std::to_string(server_.options.body_limit) + " bytes"),
                   false, "-", "-", now);
    }
    if (ec == bhttp::error::header_limit) {
      return Write(Problem(431, "headers-too-large", "Request header fields too large",
                           "the headers are larger than " + std::to_string(server_.options.header_limit) + " bytes"),
                   false, "-", "-", now);
    }
    return Write(Problem(400, "bad-request", "Malformed HTTP request", ec.message()), false, "-", "-", now);
  }
  Dispatch(parser_->release());
}

void Session::Dispatch(bhttp::request<bhttp::string_body> msg) {
  const auto started = Clock::now();
  ++server_.inflight;
  const bool keep_alive = msg.keep_alive();
  Request req;
  req.method = std::string(msg.method_string());
  if (!ParseTarget(std::string_view(msg.target().data(), msg.target().size()), req)) {
    return Write(Problem(400, "bad-request", "Malformed request target", "the path or query is not valid"),
                 false, "-", req.method, started);
  }
  for (const auto& field : msg) req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  req.body = std::move(msg.body());

  Router::Match match = server_.router.Find(req.method, req.path);
  if (match.route == nullptr) {
    if (!match.allow.empty()) {
      Response r = Problem(405, "method-not-allowed", "Method not allowed",
                           req.method + " is not allowed here; allowed: " + match.allow);
      r.headers.emplace_back("Allow", match.allow);
      return Write(std::move(r), keep_alive, "-", req.method, started);
    }
    return Write(Problem(404, "not-found", "Not found", "no route for " + req.path), keep_alive, "-", req.method,
                 started);
  }
  const Route& route = *match.route;
  req.params = std::move(match.params);
  req.route = route.pattern;
  if (!req.body.empty() || req.method == "POST" || req.method == "PATCH" || req.method == "PUT") {
    const std::string_view want = route.options.body_content_type;
    const std::string_view got = req.Header("Content-Type").value_or("");
    const std::string_view media = got.substr(0, got.find(';'));
    if (!want.empty() && !(media.size() == want.size() &&
                           std::equal(media.begin(), media.end(), want.begin(),
                                      [](char a, char b) { return std::tolower(a) == std::tolower(b); }))) {
      return Write(Problem(415, "unsupported-media-type", "Unsupported media type",
                           "send the body as " + std::string(want)),
                   keep_alive, route.pattern, req.method, started);
    }
  }
  auto self = shared_from_this();
  Responder responder([self, keep_alive, route = route.pattern, method = req.method, started](Response r) {
    // Answers may come from any thread: hop back onto this connection's thread to write (at
    // once when the handler answered on it).
    net::dispatch(self->stream_.get_executor(), [self, r = std::move(r), keep_alive, route, method, started]() mutable {
      self->Write(std::move(r), keep_alive, route, method, started);
    });
  });
  try {
    route.handler(req, responder);
  } catch (const std::exception& e) {  // a handler bug must not take the server down
    responder(Problem(500, "internal", "Internal error", "the request failed"));
  }
}

void Session::Write(Response response, bool keep_alive, const std::string& route, const std::string& method,
                    Clock::time_point started) {
  keep_alive = keep_alive && !server_.stopping.load();
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(response.status), 11);
  res->set(bhttp::field::server, "adsd");
  res->set(bhttp::field::content_type, response.content_type);
  for (auto& [k, v] : response.headers) res->set(k, v);
  res->body() = std::move(response.body);
  res->keep_alive(keep_alive);
  res->prepare_payload();
  // Counted when the answer is ready, before it is sent: a client that has read its answer can
  // rely on seeing it in /metrics.
  if (server_.metrics != nullptr) {
    server_.metrics->ObserveRequest(route, method, response.status,
                                    std::chrono::duration<double>(Clock::now() - started).count());
  }
  bhttp::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
    self->server_.RequestDone();
    if (ec || !keep_alive) return self->Close();
    self->Read();
  });
}

}  // namespace

cqrs::Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, const Router& router,
                                                    Metrics* metrics) {
  auto server = std::make_unique<ServerImpl>(options, router, metrics);
  RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace adsd::http
