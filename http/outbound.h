// Outbound calls to URLs that clients gave us (webhook endpoints): parsing with the address
// policy, and one POST with connect and response timeouts, over HTTPS or (when allowed) HTTP.
//
// A URL given by a client must not make the service call into its own network (SSRF): by
// default only https is accepted, and a host that is, or resolves to, a loopback, private,
// link-local, shared (CGNAT), multicast or unspecified address is refused, both when the URL is
// registered and again at every call (a name may resolve differently later). The operator may
// allow such addresses, and plain http, for development and tests (PrivateAddresses::kAllow).
//
// Thread-safety: the functions are pure; an OutboundConnection is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::http {

enum class PrivateAddresses { kRefuse, kAllow };

struct OutboundUrl {
  bool tls = true;
  std::string host;  // a name or an IP literal (without brackets)
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
};

// https://HOST[:PORT][/PATH[?QUERY]] (and http:// with kAllow). InvalidArgument naming the
// problem otherwise. Does not resolve the host: CheckOutboundHost does.
cqrs::Result<OutboundUrl> ParseOutboundUrl(std::string_view text, PrivateAddresses policy);

// Whether an IP address (text) may be called under kRefuse.
bool IsPublicAddress(std::string_view ip);

// Resolves the host and refuses it (kInvalidArgument) when any of its addresses is not public;
// kUnavailable when it cannot be resolved. Always Ok with kAllow.
cqrs::Status CheckOutboundHost(const OutboundUrl& url, PrivateAddresses policy);

struct OutboundOptions {
  std::chrono::milliseconds connect_timeout{3000};    // resolve + TCP connect
  std::chrono::milliseconds response_timeout{10000};  // TLS handshake, request, whole response
  PrivateAddresses private_addresses = PrivateAddresses::kRefuse;
  std::size_t max_response_bytes = 16 * 1024;  // more is cut off (the answer's body is only logged)
  // PEM file of the certificate authorities to trust; empty: the system's.
  std::string ca_file;
};

struct OutboundResponse {
  int status = 0;
  std::string body;  // at most max_response_bytes
};

// POSTs `body` as application/json. An HTTP answer of any status is a value; kDeadlineExceeded
// for a timeout, kUnavailable for a connection that failed, kInvalidArgument for an address the
// policy refuses.
cqrs::Result<OutboundResponse> PostOutbound(const OutboundUrl& url, const std::string& body,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            const OutboundOptions& options);

// One endpoint's keep-alive connection, reused by consecutive calls (a webhook lane's): it saves a
// TCP and TLS handshake per call. A new connection is made for another scheme, host or port,
// after an answer that closes, after an error, and after 4 s idle; the address policy applies to
// each new connection. A request that finds its reused connection closed by the server (nothing
// came back) is sent once more on a fresh one. Lifecycle: the connection closes with the object.
class OutboundConnection {
 public:
  OutboundConnection();
  ~OutboundConnection();
  OutboundConnection(const OutboundConnection&) = delete;
  OutboundConnection& operator=(const OutboundConnection&) = delete;

  // As PostOutbound.
  cqrs::Result<OutboundResponse> Post(const OutboundUrl& url, const std::string& body,
                                      const std::vector<std::pair<std::string, std::string>>& headers,
                                      const OutboundOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace adsd::http
