// `adsctl verify`: checks the log's frames, positions and hash chain, read-only.
#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

// Adds the subcommand to `app`; it runs when selected and sets `exit_code`.
void AddVerifyCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
