// `adsctl rebuild`: rebuilds read models from the event log.
#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

void AddRebuildCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
