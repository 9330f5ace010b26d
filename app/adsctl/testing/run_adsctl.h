// Runs the adsctl binary under test (ADSCTL, set by CMake) and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace adsd::app::testing {

struct CommandRun {
  int exit_code;
  std::string out;  // standard output and error
};

inline CommandRun Adsctl(const std::string& args) {
  const std::string cmd = std::string(ADSCTL) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace adsd::app::testing
