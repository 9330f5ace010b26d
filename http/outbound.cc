// Beast is included here, in client.cc and in server.cc only.
// clang-format off
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first
// clang-format on

#include "http/outbound.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <memory>
#include <optional>

namespace adsd::http {

namespace {
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

bool PublicV4(const net::ip::address_v4& a) {
  const auto b = a.to_bytes();
  if (b[0] == 0 || b[0] == 10 || b[0] == 127) return false;  // this network, private, loopback
  if (b[0] == 169 && b[1] == 254) return false;              // link-local
  if (b[0] == 172 && (b[1] & 0xf0) == 16) return false;      // private
  if (b[0] == 192 && b[1] == 168) return false;              // private
  if (b[0] == 100 && (b[1] & 0xc0) == 64) return false;      // shared address space (CGNAT)
  if (b[0] == 192 && b[1] == 0 && b[2] == 0) return false;   // IETF protocol assignments
  if (b[0] == 198 && (b[1] & 0xfe) == 18) return false;      // benchmarking
  if (b[0] >= 224) return false;                             // multicast, reserved, broadcast
  return true;
}

bool PublicAddress(const net::ip::address& a) {
  if (a.is_v4()) return PublicV4(a.to_v4());
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return PublicV4(net::ip::make_address_v4(net::ip::v4_mapped, v6));
  const auto b = v6.to_bytes();
  if (v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()) return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // link-local fe80::/10
  if ((b[0] & 0xfe) == 0xfc) return false;                  // unique local fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;  // site-local (deprecated) fec0::/10
  return true;
}

// The resolved addresses the policy lets us call.
cqrs::Result<tcp::resolver::results_type> Allowed(const tcp::resolver::results_type& found, const OutboundUrl& url,
                                                  PrivateAddresses policy) {
  if (policy == PrivateAddresses::kAllow) return found;
  for (const auto& entry : found) {
    if (!PublicAddress(entry.endpoint().address())) {
      return cqrs::InvalidArgument("the host " + url.host + " resolves to a private, loopback or link-local address (" +
                                   entry.endpoint().address().to_string() + ")");
    }
  }
  return found;
}

std::unique_ptr<ssl::context> MakeClientTls(const std::string& ca_file) {
  auto c = std::make_unique<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  if (ca_file.empty()) {
    c->set_default_verify_paths(ec);
  } else {
    c->load_verify_file(ca_file, ec);
  }
  c->set_verify_mode(ssl::verify_peer);
  SSL_CTX_set_min_proto_version(c->native_handle(), TLS1_2_VERSION);
  return c;
}

// The system's trust store, loaded once; a context of its own for a `ca_file`.
std::shared_ptr<ssl::context> ClientTls(const std::string& ca_file) {
  static std::shared_ptr<ssl::context> system = MakeClientTls("");
  if (ca_file.empty()) return system;
  return MakeClientTls(ca_file);
}

cqrs::Status Failure(const beast::error_code& ec, std::string_view step, const OutboundUrl& url) {
  const std::string what = std::string(step) + " " + url.host + ":" + std::to_string(url.port) + ": " + ec.message();
  if (ec == beast::error::timeout || ec == net::error::operation_aborted) return cqrs::DeadlineExceeded(what);
  return cqrs::Unavailable(what);
}

}  // namespace

bool IsPublicAddress(std::string_view ip) {
  beast::error_code ec;
  const auto a = net::ip::make_address(std::string(ip), ec);
  return !ec && PublicAddress(a);
}

cqrs::Result<OutboundUrl> ParseOutboundUrl(std::string_view text, PrivateAddresses policy) {
  OutboundUrl u;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    if (policy != PrivateAddresses::kAllow) {
      return cqrs::InvalidArgument("the url must use https (plain http is only allowed on a development server)");
    }
    u.tls = false;
    u.port = 80;
    rest = text.substr(7);
  } else {
    return cqrs::InvalidArgument("the url must start with https://");
  }
  if (text.size() > 2048) return cqrs::InvalidArgument("the url is longer than 2048 bytes");
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) return cqrs::InvalidArgument("the url holds a space, control or non-ASCII byte");
  }
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (target.find('#') != std::string_view::npos) return cqrs::InvalidArgument("the url must not hold a fragment");
  if (authority.find('@') != std::string_view::npos) return cqrs::InvalidArgument("the url must not hold credentials");
  std::string_view port_text;
  if (authority.starts_with("[")) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return cqrs::InvalidArgument("the url's IPv6 host lacks its ']'");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return cqrs::InvalidArgument("the url's host is not followed by a port");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return cqrs::InvalidArgument("the url has no host");
  if (!port_text.empty() || authority.ends_with(":")) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return cqrs::InvalidArgument("the url's port is not 1-65535");
    }
    u.port = static_cast<std::uint16_t>(port);
  }
  u.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  return u;
}

cqrs::Status CheckOutboundHost(const OutboundUrl& url, PrivateAddresses policy) {
  if (policy == PrivateAddresses::kAllow) return cqrs::Status::Ok();
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  const auto found = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) return cqrs::Unavailable("cannot resolve " + url.host + ": " + ec.message());
  auto allowed = Allowed(found, url, policy);
  return allowed.ok() ? cqrs::Status::Ok() : allowed.status();
}

namespace {

using Clock = std::chrono::steady_clock;

// A kept-alive connection idle for longer than this is not reused: servers close theirs after a
// few seconds to a minute, and a request on a connection the server is closing is wasted.
constexpr auto kReuseIdle = std::chrono::seconds(4);

bool IsIpLiteral(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// The failures of a reused connection that mean the server had closed it before reading the
// request: it is sent again on a fresh one (at most once).
bool ClosedByPeer(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

}  // namespace

struct OutboundConnection::Impl {
  net::io_context ioc;
  std::shared_ptr<ssl::context> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  std::string peer;  // the open connection's scheme, host, port and trust; empty: none
  Clock::time_point last_used;
  beast::flat_buffer buffer;

  void Run() {
    ioc.restart();
    ioc.run();
  }

  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void Close() {
    if (plain || secure) {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      Lowest().close();
    }
    secure.reset();
    plain.reset();
    peer.clear();
    buffer.clear();
  }

  // Resolves (the address policy applies to every address), connects, and for https shakes
  // hands (the certificate verified for the host name or IP literal).
  cqrs::Status Connect(const OutboundUrl& url, const OutboundOptions& options) {
    Close();
    tcp::resolver resolver(ioc);
    // Resolution has no timeout of its own: a timer cancels it.
    net::steady_timer resolve_timer(ioc);
    resolve_timer.expires_after(options.connect_timeout);
    resolve_timer.async_wait([&](beast::error_code ec) {
      if (!ec) resolver.cancel();
    });
    beast::error_code ec;
    tcp::resolver::results_type found;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](beast::error_code rec, tcp::resolver::results_type r) {
                             resolve_timer.cancel();
                             ec = rec;
                             found = std::move(r);
                           });
    Run();
    if (ec) return Failure(ec, "resolve", url);
    ASSIGN_OR_RETURN(auto allowed, Allowed(found, url, options.private_addresses));
    if (url.tls) {
      tls = ClientTls(options.ca_file);
      secure.emplace(ioc, *tls);
      if (IsIpLiteral(url.host)) {
        // An IP literal: no SNI (RFC 6066 §3), and the certificate must name that address.
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(secure->native_handle()), url.host.c_str());
      } else {
        if (!SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str())) {
          Close();
          return cqrs::InvalidArgument("the host " + url.host + " cannot be sent as TLS SNI");
        }
        secure->set_verify_callback(ssl::host_name_verification(url.host));
      }
    } else {
      plain.emplace(ioc);
    }
    Lowest().expires_after(options.connect_timeout);
    Lowest().async_connect(allowed, [&](beast::error_code cec, const tcp::endpoint&) { ec = cec; });
    Run();
    if (ec) {
      Close();
      return Failure(ec, "connect to", url);
    }
    if (secure) {
      Lowest().expires_after(options.response_timeout);
      secure->async_handshake(ssl::stream_base::client, [&](beast::error_code hec) { ec = hec; });
      Run();
      if (ec) {
        Close();
        return Failure(ec, "TLS handshake with", url);
      }
    }
    return cqrs::Status::Ok();
  }

  // One request and its answer on the open connection. `ec` is the transport's error, if any.
  template <class Stream>
  void Exchange(Stream& stream, bhttp::request<bhttp::string_body>& req,
                bhttp::response_parser<bhttp::string_body>& parser, beast::error_code& ec) {
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) {
        ec = wec;
        return;
      }
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) { ec = rec; });
    });
    Run();
  }

  cqrs::Result<OutboundResponse> Call(const OutboundUrl& url, bhttp::request<bhttp::string_body>& req,
                                      const OutboundOptions& options, bool& nothing_back) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    beast::error_code ec;
    Lowest().expires_after(options.response_timeout);
    if (secure) {
      Exchange(*secure, req, parser, ec);
    } else {
      Exchange(*plain, req, parser, ec);
    }
    nothing_back = !parser.got_some() && ClosedByPeer(ec);
    // An answer longer than we keep still counts by its status.
    if ((ec && ec != bhttp::error::body_limit) || !parser.is_header_done()) {
      Close();
      return Failure(ec ? ec : beast::error_code(net::error::eof), "call", url);
    }
    OutboundResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    out.body = parser.get().body().substr(0, options.max_response_bytes);
    if (ec || !parser.get().keep_alive()) Close();  // a cut body leaves the connection unusable
    return out;
  }
};

OutboundConnection::OutboundConnection() : impl_(std::make_unique<Impl>()) {}
OutboundConnection::~OutboundConnection() { impl_->Close(); }

cqrs::Result<OutboundResponse> OutboundConnection::Post(const OutboundUrl& url, const std::string& body,
                                                        const std::vector<std::pair<std::string, std::string>>& headers,
                                                        const OutboundOptions& options) {
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, url.target, 11);
  const bool default_port = url.port == (url.tls ? 443 : 80);
  const bool v6 = url.host.find(':') != std::string::npos;
  req.set(bhttp::field::host,
          (v6 ? "[" + url.host + "]" : url.host) + (default_port ? "" : ":" + std::to_string(url.port)));
  req.set(bhttp::field::user_agent, "adsd-webhooks/1");
  req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  const std::string peer = std::string(url.tls ? "https://" : "http://") + url.host + ":" + std::to_string(url.port) +
                           " " + options.ca_file +
                           (options.private_addresses == PrivateAddresses::kAllow ? " any" : "");
  Impl& c = *impl_;
  const bool reused = c.peer == peer && Clock::now() - c.last_used < kReuseIdle;
  if (!reused) {
    RETURN_IF_ERROR(c.Connect(url, options));
    c.peer = peer;
  }
  bool nothing_back = false;
  auto answer = c.Call(url, req, options, nothing_back);
  if (!answer.ok() && reused && nothing_back) {
    // The server had closed the idle connection: the request never reached it.
    RETURN_IF_ERROR(c.Connect(url, options));
    c.peer = peer;
    answer = c.Call(url, req, options, nothing_back);
  }
  c.last_used = Clock::now();
  return answer;
}

cqrs::Result<OutboundResponse> PostOutbound(const OutboundUrl& url, const std::string& body,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            const OutboundOptions& options) {
  OutboundConnection connection;
  return connection.Post(url, body, headers, options);
}

}  // namespace adsd::http
