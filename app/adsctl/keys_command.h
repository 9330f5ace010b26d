// `adsctl keys add|list|revoke|rotate|migrate`: the API-key file (http/auth.h), which holds
// token hashes only. add and rotate print the new token once; adsd reads the file at start.
#pragma once

#include <CLI/CLI.hpp>

namespace adsd::app {

void AddKeysCommand(CLI::App& app, int& exit_code);

}  // namespace adsd::app
