// HttpClient: a small blocking HTTP/1.1 client for service-to-service calls (the external
// validation API), with a per-call timeout and keep-alive connection reuse.
//
// Thread-safety: safe from many threads; each call borrows an idle connection or opens one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cqrs/core/status.h"
#include "http/message.h"

namespace adsd::http {

struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";
  // http://HOST[:PORT][/PATH]; only plain http (the validator runs beside the service).
  static cqrs::Result<Url> Parse(std::string_view text);
};

class HttpClient {
 public:
  explicit HttpClient(Url base);
  ~HttpClient();

  // POSTs `body` as application/json to the base URL's path. kDeadlineExceeded when the whole
  // exchange takes longer than `timeout`, kUnavailable when the peer cannot be reached.
  cqrs::Result<Response> PostJson(const std::string& body, std::chrono::milliseconds timeout,
                                  const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Any method, to `target` ("/path?query") on the base URL's host. `body` is sent as JSON when
  // not empty.
  cqrs::Result<Response> Send(std::string_view method, const std::string& target, const std::string& body,
                              std::chrono::milliseconds timeout,
                              const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace adsd::http
