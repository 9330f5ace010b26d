// Tests: one field of a JSON object as text (strings unquoted, anything else minified); "" when
// the text is not JSON or has no such field.
#pragma once

#include <simdjson.h>

#include <string>

namespace adsd::app::testing {

inline std::string Field(const std::string& json, const char* key) {
  simdjson::dom::parser p;
  simdjson::padded_string s(json);
  simdjson::dom::element e;
  if (p.parse(s).get(e)) return "";
  simdjson::dom::element v;
  if (e[key].get(v)) return "";
  if (v.is_string()) return std::string(v.get_string().value());
  return simdjson::minify(v);
}

}  // namespace adsd::app::testing
