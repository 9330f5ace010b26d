// `adsctl bench report`: turns the JSON of `bench paper` and `bench capacity` into the generated
// part of docs/benchmarks.md (between its `<!-- bench:begin -->` and `<!-- bench:end -->`
// markers) and the SVG charts under docs/img/.
#pragma once

#include <filesystem>
#include <string>

#include "cqrs/core/status.h"

namespace adsd::bench {

struct ReportOptions {
  std::filesystem::path paper_json, capacity_json;
  std::filesystem::path docs = "docs";
  std::string command;  // what to print as "made by"
};

cqrs::Status WriteReport(const ReportOptions& options);

}  // namespace adsd::bench
