#include "http/message.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <strings.h>

#include "http/problem.h"
#include "http/target.h"

namespace adsd::http {

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response Problem(int status, std::string_view slug, std::string_view title, std::string_view detail,
                 const std::vector<FieldProblem>& errors) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  // Details may echo what the client sent (a path, a parameter): the body stays valid UTF-8 JSON.
  auto str = [&](std::string_view s) {
    const std::string valid = ReplaceInvalidUtf8(s);
    w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  };
  w.StartObject();
  w.Key("type");
  str("https://adsd.dev/problems/" + std::string(slug));
  w.Key("title");
  str(title);
  w.Key("status");
  w.Int(status);
  w.Key("detail");
  str(detail);
  if (!errors.empty()) {
    w.Key("errors");
    w.StartArray();
    for (const auto& e : errors) {
      w.StartObject();
      w.Key("field");
      str(e.field);
      w.Key("code");
      str(e.code);
      w.Key("message");
      str(e.message);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return Response{status, "application/problem+json", std::string(buf.GetString(), buf.GetSize()), {}, {}};
}

Response Overloaded(std::string_view detail, int retry_after_seconds) {
  Response r = Problem(503, "overloaded", "The server is overloaded", detail);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

}  // namespace adsd::http
