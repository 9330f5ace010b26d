// `adsctl repair`: sets right the consumers that log recovery left ahead of the log
// (app/adsd/consumers_ahead.h), with adsd stopped.
#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

void AddRepairCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
