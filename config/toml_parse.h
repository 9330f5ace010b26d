// ParseToml: a TOML document (toml++), or InvalidArgument "SOURCE:LINE: what is wrong".
//
// toml++ reports syntax errors by exception; this is the one place where they become a Status,
// for the API key file (http/auth.cc) and the rules file (ads/rules/rules_config.cc) alike.
#pragma once

#include <toml++/toml.h>

#include <sstream>
#include <string_view>

#include "cqrs/core/status.h"

namespace adsd::config {

inline cqrs::Result<toml::table> ParseToml(std::string_view text, std::string_view source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << source << ":" << e.source().begin.line << ": " << e.description();
    return cqrs::InvalidArgument(m.str());
  }
}

}  // namespace adsd::config
