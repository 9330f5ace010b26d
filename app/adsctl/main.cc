// adsctl: the operator's command line for adsd data directories.
#include <CLI/CLI.hpp>

#include "app/adsctl/bench_command.h"
#include "app/adsctl/keys_command.h"
#include "app/adsctl/rebuild_command.h"
#include "app/adsctl/repair_command.h"
#include "app/adsctl/report_command.h"
#include "app/adsctl/verify_command.h"

int main(int argc, char** argv) {
  CLI::App app{"adsctl: operate an adsd data directory, and benchmark the service"};
  app.require_subcommand(1);
  int exit_code = 0;
  adsd::app::AddVerifyCommand(app, exit_code);
  adsd::app::AddKeysCommand(app, exit_code);
  adsd::app::AddRebuildCommand(app, exit_code);
  adsd::app::AddRepairCommand(app, exit_code);
  adsd::app::AddReportCommand(app, exit_code);
  adsd::app::AddBenchCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
