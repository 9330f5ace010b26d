// adsd's command line: every option, its default, its bounds and its help text, turned into the
// ServiceOptions a process runs with (options.h). Usage errors are reported here, before anything
// is created: a refused start leaves nothing on disk.
#pragma once

#include <optional>
#include <string>

#include "app/adsd/options.h"

namespace adsd::app {

struct CommandLine {
  ServiceOptions options;
  // Set when the process should exit now: 0 after --help, 2 after a usage error (printed).
  std::optional<int> exit_code;
  // As given, for the start-up line.
  std::string role_name, pipeline_name;
};

CommandLine ParseCommandLine(int argc, char** argv);

}  // namespace adsd::app
