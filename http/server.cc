// The only translation unit that sees Beast and Asio (each costs seconds to compile), with its
// private header session.h.
#include <openssl/ssl.h>

#include <thread>
#include <vector>

#include "cqrs/core/thread_name.h"
#include "http/session.h"

namespace adsd::http {

namespace detail {

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §7.2 Host = uri-host [ ":" port ]: reg-name, IPv4 or [IPv6] characters only.
bool ValidHost(std::string_view host) {
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = std::isalnum(u) || std::string_view("-._~!$&'()*+,;=:[]%").find(c) != std::string_view::npos;
    if (!ok || u >= 0x80) return false;
  }
  return true;
}

Response BadRequest(std::string_view detail) { return Problem(400, "bad-request", "Malformed HTTP request", detail); }

}  // namespace

std::optional<Response> CheckHeader(const bhttp::request_parser<bhttp::string_body>& parser) {
  const auto& msg = parser.get();
  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any with more than one
  // Host line or an invalid one.
  auto [first, end] = msg.equal_range(bhttp::field::host);
  const auto hosts = std::distance(first, end);
  if (hosts > 1) return BadRequest("more than one Host header");
  if (hosts == 0 && msg.version() >= 11) return BadRequest("an HTTP/1.1 request needs a Host header");
  if (hosts == 1 && !ValidHost(std::string_view(first->value().data(), first->value().size())))
    return BadRequest("the Host header is not a valid host");
  // RFC 9110 §5.3: a field that is not a list is sent once. Two credentials, media types, keys or
  // stream positions leave a guess of which one counts (and a filter in front may have checked
  // the other): refused.
  for (const char* name : {"Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"}) {
    const auto [from, to] = msg.equal_range(boost::beast::string_view(name));
    if (std::distance(from, to) > 1) return BadRequest("more than one " + std::string(name) + " header");
  }
  // RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked cannot be framed (400
  // and close); no content coding is supported either, so the only one accepted is `chunked`.
  auto [te, te_end] = msg.equal_range(bhttp::field::transfer_encoding);
  if (te != te_end) {
    std::vector<std::string_view> codings;
    for (; te != te_end; ++te) {
      std::string_view v(te->value().data(), te->value().size());
      while (true) {
        const auto comma = v.find(',');
        const std::string_view c = Trim(v.substr(0, comma));
        if (!c.empty()) codings.push_back(c);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    if (msg.version() < 11) return BadRequest("Transfer-Encoding in an HTTP/1.0 request");
    if (codings.size() != 1 || !EqualsNoCase(codings.front(), "chunked")) {
      return Response(Problem(400, "bad-transfer-encoding", "Unsupported Transfer-Encoding",
                              "the only transfer coding accepted is a single 'chunked'"));
    }
  }
  return std::nullopt;
}

bool ExpectsContinue(const bhttp::request_parser<bhttp::string_body>& parser) {
  const auto& msg = parser.get();
  auto expect = msg.find(bhttp::field::expect);
  if (expect == msg.end() || msg.version() < 11) return false;
  if (!EqualsNoCase(Trim(std::string_view(expect->value().data(), expect->value().size())), "100-continue"))
    return false;
  // Only when a body follows: otherwise the final answer comes at once anyway.
  return parser.chunked() || parser.content_length().value_or(0) > 0;
}

std::optional<Response> ToRequest(bhttp::request<bhttp::string_body>& msg, Request& req) {
  req.method = std::string(msg.method_string());
  if (!ParseTarget(std::string_view(msg.target().data(), msg.target().size()), req)) {
    return BadRequest("the request target is not a valid path and query");
  }
  for (const auto& field : msg) {
    const std::string name(field.name_string());
    // The conditional fields are lists: lines of one are one list (RFC 9110 §5.3), so a handler
    // that reads the first line sees every tag.
    if (EqualsNoCase(name, "If-Match") || EqualsNoCase(name, "If-None-Match")) {
      auto same = std::find_if(req.headers.begin(), req.headers.end(),
                               [&](const auto& h) { return EqualsNoCase(h.first, name); });
      if (same != req.headers.end()) {
        same->second += ", " + std::string(field.value());
        continue;
      }
    }
    req.headers.emplace_back(name, std::string(field.value()));
  }
  req.body = std::move(msg.body());
  return std::nullopt;
}

std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                                "DELETE", "OPTIONS", "TRACE", "CONNECT"};
  for (std::string_view m : kKnown) {
    if (m == method) return std::string(m);
  }
  return "other";
}

void AnswerPreconditions(Response& response, const Preconditions& conditions) {
  if (response.status != 200 || response.stream) return;
  const auto found = std::find_if(response.headers.begin(), response.headers.end(),
                                  [](const auto& h) { return EqualsNoCase(h.first, "ETag"); });
  if (found == response.headers.end()) return;
  const std::string etag = found->second;  // a copy: the answer may be replaced below
  // RFC 9110 §13.2.2: If-Match first; a GET is not performed for a representation it does not name.
  if (conditions.if_match && !IfMatchNames(*conditions.if_match, etag)) {
    response = Problem(412, "precondition-failed", "Precondition failed",
                       "If-Match names no current entity tag; the current one is " + etag);
    response.headers.emplace_back("ETag", etag);
    return;
  }
  if (conditions.if_none_match && IfNoneMatchNames(*conditions.if_none_match, etag)) {
    response.status = 304;
    response.body.clear();
  }
}

std::string MethodForDetail(std::string_view method) {
  constexpr std::size_t kMax = 32;
  return method.size() <= kMax ? std::string(method) : std::string(method.substr(0, kMax)) + "...";
}

bhttp::response<bhttp::string_body> ToMessage(Response response, bool authenticated) {
  bool safe = IsSafeFieldValue(response.content_type);
  for (const auto& [k, v] : response.headers) safe = safe && IsToken(k) && IsSafeFieldValue(v);
  if (!safe) {
    // A handler put bytes into a header that would split or corrupt it (CR, LF, NUL...): never
    // send them. This is a bug in the handler, not the client's fault.
    response = Problem(500, "internal", "Internal error", "the answer had an unsafe header value");
  }
  bhttp::response<bhttp::string_body> res(static_cast<bhttp::status>(response.status), 11);
  res.set(bhttp::field::server, "adsd");
  // 204 and 304: no content, so no type (a 304 carries only what updates a cache: RFC 9110 §15.4.5)
  if (response.status != 204 && response.status != 304) res.set(bhttp::field::content_type, response.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  if (authenticated) res.set(bhttp::field::cache_control, "no-store");
  for (auto& [k, v] : response.headers) res.set(k, v);
  res.body() = std::move(response.body);
  return res;
}

}  // namespace detail

namespace {

using namespace detail;

// TLS 1.2+ with the forward-secret AEAD suites of Mozilla's "intermediate" profile (TLS 1.3's
// suites are all of that kind already).
cqrs::Result<std::unique_ptr<ssl::context>> MakeTlsContext(const ServerOptions& o) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                   SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx->native_handle(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  beast::error_code ec;
  ctx->use_certificate_chain_file(o.tls_cert, ec);
  if (ec) return cqrs::InvalidArgument("--tls-cert " + o.tls_cert + ": " + ec.message());
  ctx->use_private_key_file(o.tls_key, ssl::context::pem, ec);
  if (ec) return cqrs::InvalidArgument("--tls-key " + o.tls_key + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return cqrs::InvalidArgument("--tls-key " + o.tls_key + " does not match the certificate " + o.tls_cert);
  }
  return ctx;
}

// The whole answer to a connection over the limit, written without waiting (it fits any socket
// buffer; if it does not, the client just sees the connection closed).
constexpr std::string_view kOverloaded =
    "HTTP/1.1 503 Service Unavailable\r\nServer: adsd\r\nContent-Type: application/problem+json\r\n"
    "X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 142\r\n\r\n"
    R"({"type":"https://adsd.dev/problems/overloaded","title":"The server is overloaded","status":503,)"
    R"("detail":"too many connections; retry shortly"})";

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& o, const Router& r, Metrics* m) : state_(o, r, m) {
    // One io_context per thread, each connection on one of them: a connection's handlers never
    // hop between threads, and need no strand (the I/O threads share nothing per request).
    for (int i = 0; i < std::max(1, o.threads); ++i) contexts_.push_back(std::make_unique<Context>());
    acceptor_.emplace(contexts_.front()->ioc);
    backoff_timer_.emplace(contexts_.front()->ioc);
  }
  ~ServerImpl() override { Stop(); }

  cqrs::Status Listen() {
    const ServerOptions& options = state_.options;
    if (options.tls_cert.empty() != options.tls_key.empty()) {
      return cqrs::InvalidArgument("TLS needs both a certificate and a key (--tls-cert and --tls-key)");
    }
    if (!options.tls_cert.empty()) {
      ASSIGN_OR_RETURN(tls_, MakeTlsContext(options));
    }
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
    if (ec)
      return cqrs::Unavailable("listen on " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
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
    state_.stopping.store(true);
    net::post(acceptor_->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
      backoff_timer_->cancel();
    });
    // Streamed answers end with their last chunk; they hold no request, so the drain does not wait.
    for (auto& stream : state_.OpenStreams()) stream->Close();
    {
      cqrs::MutexLock lock(state_.mu);
      const auto deadline = std::chrono::steady_clock::now() + state_.options.drain_timeout;
      while (state_.inflight.load() != 0 && state_.drained.WaitUntil(state_.mu, deadline)) {
      }
    }
    for (auto& c : contexts_) {
      c->work.reset();
      c->ioc.stop();
    }
    for (auto& c : contexts_) {
      if (c->thread.joinable()) c->thread.join();
    }
    // Whatever the I/O threads did not finish: the routes learn that their streams are over.
    for (auto& stream : state_.OpenStreams()) stream->End();
  }

 private:
  void Accept() {
    net::io_context& next = contexts_[next_context_++ % contexts_.size()]->ioc;
    acceptor_->async_accept(next, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
        // Out of file descriptors or memory: the connection stays in the backlog, and accepting
        // again at once would fail again at once (a busy loop). Wait, doubling up to 1 s.
        if (ec == net::error::no_descriptors || ec.value() == ENFILE || ec == net::error::no_buffer_space ||
            ec == net::error::no_memory) {
          backoff_ = std::min<std::chrono::milliseconds>(
              backoff_ == std::chrono::milliseconds(0) ? std::chrono::milliseconds(10) : backoff_ * 2,
              std::chrono::seconds(1));
          backoff_timer_->expires_after(backoff_);
          backoff_timer_->async_wait([this](beast::error_code tec) {
            if (!tec && acceptor_->is_open()) Accept();
          });
          return;
        }
        return Accept();  // one connection failed (reset before accept): go on
      }
      backoff_ = std::chrono::milliseconds(0);
      if (state_.connections.fetch_add(1) >= state_.options.max_connections) {
        state_.connections.fetch_sub(1);
        Shed(std::move(socket));
      } else if (tls_) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(state_, std::move(socket), *tls_)->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(state_, std::move(socket))->Start();
      }
      Accept();
    });
  }

  // Over the connection limit: a 503 written without blocking (plain HTTP only: a TLS client
  // would need a handshake first, which is the work being shed), then close.
  void Shed(tcp::socket socket) {
    beast::error_code ec;
    if (!tls_) {
      socket.non_blocking(true, ec);
      if (!ec) socket.write_some(net::buffer(kOverloaded.data(), kOverloaded.size()), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
    socket.close(ec);
    if (state_.metrics != nullptr) state_.metrics->ObserveRequest("-", "other", 503, 0);
  }

  struct Context {
    net::io_context ioc{1};
    // Keeps the thread running while a handler works on a request and no socket operation is
    // pending (during a drain the acceptor is closed too): its answer must still be written.
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::thread thread;
  };
  ServerState state_;
  std::unique_ptr<ssl::context> tls_;  // null: plain HTTP
  std::vector<std::unique_ptr<Context>> contexts_;
  std::size_t next_context_ = 0;  // used by the accept handler only (context 0's thread)
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> backoff_timer_;  // context 0's thread only
  std::chrono::milliseconds backoff_{0};            // context 0's thread only
  std::atomic<bool> stopped_{false};
  std::uint16_t port_ = 0;
};

}  // namespace

cqrs::Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, const Router& router,
                                                    Metrics* metrics) {
  auto server = std::make_unique<ServerImpl>(options, router, metrics);
  RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace adsd::http
