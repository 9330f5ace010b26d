// Request and Response as handlers see them: plain values, no Beast types.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace adsd::http {

class StreamWriter;  // stream.h

struct Request {
  std::string method;                        // "GET"
  std::string path;                          // "/v1/ads/0190…", raw: NOT percent-decoded
  std::map<std::string, std::string> query;  // decoded
  std::set<std::string> repeated_query;      // the keys given more than once (each keeps its first value)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::map<std::string, std::string> params;  // from the route pattern: {"id": "0190…"}
  std::string route;                          // the matched pattern: "/v1/ads/{id}"

  // Case-insensitive header lookup.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A streamed answer (stream.h): when set, `body` is ignored, the head is written with a chunked
  // body, and `stream` is called with the writer the route pushes the body to. Never called when
  // the head could not be written (the client went away first): the function is just destroyed.
  std::function<void(std::shared_ptr<StreamWriter>)> stream;

  static Response Json(int status, std::string body) {
    return Response{status, "application/json", std::move(body), {}, {}};
  }
};

}  // namespace adsd::http
