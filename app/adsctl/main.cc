// adsctl: the operator's command line for adsd data directories.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

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
  // CLI11 says only "A subcommand is required" for a mistyped one (adsctl verfy, adsctl keys ad): name it.
  const CLI::App* command = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    if (command->get_subcommands([](const CLI::App*) { return true; }).empty()) break;
    try {
      command = command->get_subcommand(argv[i]);
    } catch (const CLI::OptionNotFound&) {
      const std::string parent = command == &app ? "adsctl" : "adsctl " + command->get_name();
      std::fprintf(stderr, "%s: unknown command '%s' (%s --help lists them)\n", parent.c_str(), argv[i],
                   parent.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
