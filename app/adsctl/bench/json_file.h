// Writes a benchmark's JSON results to a file (and says where).
#pragma once

#include <fmt/core.h>
#include <rapidjson/stringbuffer.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "cqrs/core/status.h"

namespace adsd::bench {

inline cqrs::Status WriteJsonFile(const std::filesystem::path& path, const rapidjson::StringBuffer& json) {
  std::ofstream out(path);
  out << json.GetString() << "\n";
  if (!out) return cqrs::ErrnoError("write " + path.string(), errno);
  fmt::print("results in {}\n", path.string());
  return cqrs::Status::Ok();
}

}  // namespace adsd::bench
