// Beast is included here and in server.cc only.
// clang-format off
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first
// clang-format on

#include "http/client.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <vector>

#include "cqrs/core/mutex.h"

namespace adsd::http {

namespace {
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
}  // namespace

cqrs::Result<Url> Url::Parse(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (!text.starts_with(kScheme)) return cqrs::InvalidArgument("url must start with http://: " + std::string(text));
  std::string_view rest = text.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url u;
  u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  u.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view p = authority.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
      return cqrs::InvalidArgument("bad port in url: " + std::string(text));
    }
    u.port = static_cast<std::uint16_t>(port);
  }
  if (u.host.empty()) return cqrs::InvalidArgument("no host in url: " + std::string(text));
  return u;
}

struct HttpClient::Impl {
  // An idle keep-alive connection, detached from any io_context between calls.
  struct Idle {
    tcp protocol;
    tcp::socket::native_handle_type fd;
  };
  Url base;
  cqrs::Mutex mu;
  std::vector<Idle> idle GUARDED_BY(mu);

  std::optional<Idle> Borrow() {
    cqrs::MutexLock lock(mu);
    if (idle.empty()) return std::nullopt;
    Idle i = idle.back();
    idle.pop_back();
    return i;
  }
  void Return(Idle i) {
    cqrs::MutexLock lock(mu);
    if (idle.size() < 16) {
      idle.push_back(i);
    } else {
      ::close(i.fd);
    }
  }
  ~Impl() {
    for (const Idle& i : idle) ::close(i.fd);
  }
};

HttpClient::HttpClient(Url base) : impl_(std::make_unique<Impl>()) { impl_->base = std::move(base); }
HttpClient::~HttpClient() = default;

cqrs::Result<Response> HttpClient::PostJson(const std::string& body, std::chrono::milliseconds timeout,
                                            const std::vector<std::pair<std::string, std::string>>& headers) {
  return Send("POST", impl_->base.path, body, timeout, headers);
}

cqrs::Result<Response> HttpClient::Send(std::string_view method, const std::string& target, const std::string& body,
                                        std::chrono::milliseconds timeout,
                                        const std::vector<std::pair<std::string, std::string>>& headers) {
  const bhttp::verb verb = bhttp::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == bhttp::verb::unknown) return cqrs::InvalidArgument("unknown HTTP method " + std::string(method));
  // Each call runs an io_context of its own thread so that deadlines apply to connect, write and
  // read alike (a synchronous socket call could block past any deadline). One per thread, kept:
  // creating one per call (an epoll and an eventfd) cost more than a loopback exchange.
  thread_local net::io_context ioc(1);
  ioc.restart();
  beast::error_code ec;
  std::optional<Impl::Idle> reused = impl_->Borrow();
  for (int attempt = 0; attempt < 2; ++attempt) {
    // A reused connection may have been closed by the peer meanwhile: then try one fresh one.
    const bool fresh = !reused.has_value();
    tcp::socket socket(ioc);
    if (!fresh) socket.assign(reused->protocol, reused->fd, ec);
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(timeout);
    if (fresh) {
      tcp::resolver resolver(ioc);
      tcp::resolver::results_type endpoints;
      resolver.async_resolve(impl_->base.host, std::to_string(impl_->base.port),
                             [&](beast::error_code e, tcp::resolver::results_type r) {
                               ec = e;
                               endpoints = std::move(r);
                             });
      ioc.run();
      ioc.restart();
      if (ec) return cqrs::Unavailable("resolve " + impl_->base.host + ": " + ec.message());
      stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      ioc.run();
      ioc.restart();
      if (ec == beast::error::timeout) return cqrs::DeadlineExceeded("connect timed out");
      if (ec) return cqrs::Unavailable("connect " + impl_->base.host + ": " + ec.message());
    }
    bhttp::request<bhttp::string_body> req(verb, target, 11);
    req.set(bhttp::field::host, impl_->base.host);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    bhttp::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    ioc.run();
    ioc.restart();
    bhttp::response<bhttp::string_body> res;
    beast::flat_buffer buf;
    if (!ec) {
      bhttp::async_read(stream, buf, res, [&](beast::error_code e, std::size_t) { ec = e; });
      ioc.run();
      ioc.restart();
    }
    if (ec == beast::error::timeout)
      return cqrs::DeadlineExceeded("no answer within " + std::to_string(timeout.count()) + " ms");
    if (ec && !fresh) {  // stale pooled connection
      reused.reset();
      continue;
    }
    if (ec) return cqrs::Unavailable("exchange with " + impl_->base.host + ": " + ec.message());
    Response out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[bhttp::field::content_type]);
    out.body = std::move(res.body());
    if (res.keep_alive()) {
      stream.expires_never();
      const tcp protocol = stream.socket().local_endpoint(ec).protocol();
      tcp::socket s2 = stream.release_socket();
      if (!ec) impl_->Return({protocol, s2.release(ec)});
    }
    return out;
  }
  return cqrs::Unavailable("could not reach " + impl_->base.host);
}

}  // namespace adsd::http
