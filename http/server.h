// Server: HTTP/1.1 with keep-alive on Boost.Beast, dispatching to a Router.
//
// Limits answer with a clear status and close the connection: a body over `body_limit` is 413,
// headers over `header_limit` 431, bytes that are not HTTP 400; a client that does not deliver a
// whole request within `request_timeout` (slow or idle) is disconnected. Unknown paths are 404,
// known paths with another method 405 with Allow, a body of the wrong type 415.
//
// The edge's rules (docs/api.md, "HTTP rules"): a request target is routed on its raw path (a
// `%2F` never splits it); HTTP/1.1 needs exactly one valid Host; a Transfer-Encoding other than
// exactly `chunked` is 400 and closes the connection (RFC 9112 §6.3); `Expect: 100-continue` is
// answered before the body is read; every header value written is checked (no CR, LF, NUL: an
// unsafe answer becomes a 500); every answer carries `X-Content-Type-Options: nosniff`, and an
// answer to a request with credentials `Cache-Control: no-store`.
//
// Connections are bounded by `max_connections`: one over it gets a 503 with Retry-After and is
// closed at once. When accept() fails for want of file descriptors (EMFILE, ENFILE) or memory,
// the acceptor backs off (10 ms doubling to 1 s) instead of spinning. With `tls_cert` and
// `tls_key` the listener speaks only TLS (1.2 or 1.3, forward-secret AEAD ciphers).
//
// Stop() stops accepting, lets in-flight requests finish (bounded by `drain_timeout`), then closes
// every connection and joins the I/O threads. Thread-safety: Start/Stop from one thread;
// handlers run on I/O threads and may answer from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "cqrs/core/status.h"
#include "http/metrics.h"
#include "http/router.h"

namespace adsd::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: pick a free port (see Server::port())
  int threads = 2;
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds drain_timeout{10'000};
  bool reuse_port = false;     // SO_REUSEPORT: several processes may serve one port
  int max_connections = 1024;  // open connections at once; more are answered 503 and closed
  // Streamed answers (stream.h): bytes queued for a client that does not read before it is cut
  // off, and the longest one write may wait for the client.
  std::size_t stream_buffer_limit = 256 * 1024;
  std::chrono::milliseconds stream_write_timeout{10'000};
  // PEM files; both set: TLS only on this listener. The key file must not be readable by others.
  std::string tls_cert;
  std::string tls_key;
};

class Server {
 public:
  // `router` and `metrics` must outlive the server. `metrics` may be null.
  static cqrs::Result<std::unique_ptr<Server>> Start(const ServerOptions& options, const Router& router,
                                                     Metrics* metrics);
  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;
  virtual void Stop() = 0;
};

}  // namespace adsd::http
