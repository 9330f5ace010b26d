#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

// adsctl bench paper|capacity|report
void AddBenchCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
