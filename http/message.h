// Request and Response as handlers see them: plain values, no Beast types.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace adsd::http {

struct Request {
  std::string method;                              // "GET"
  std::string path;                                // "/v1/ads/0190…", raw: NOT percent-decoded
  std::map<std::string, std::string> query;        // decoded; a repeated key keeps the last value
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::map<std::string, std::string> params;       // from the route pattern: {"id": "0190…"}
  std::string route;                               // the matched pattern: "/v1/ads/{id}"

  // Case-insensitive header lookup.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Json(int status, std::string body) {
    return Response{status, "application/json", std::move(body), {}};
  }
};

}  // namespace adsd::http
