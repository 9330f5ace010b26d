#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <strings.h>

#include "http/message.h"
#include "http/problem.h"

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
  auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
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
  return Response{status, "application/problem+json", std::string(buf.GetString(), buf.GetSize()), {}};
}

}  // namespace adsd::http
