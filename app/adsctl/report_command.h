// `adsctl report`: a retailer's daily CSV report, from the read model.
#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

void AddReportCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
