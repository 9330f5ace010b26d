// ChildProcess: a program the benchmark starts (adsd, nginx, wrk), with its output captured to a
// file, stopped by PID when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::bench {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] a path or a name looked up in PATH) with stdout and stderr written
  // to `output`.
  static cqrs::Result<ChildProcess> Start(const std::vector<std::string>& argv, const std::filesystem::path& output);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILL and reap, if still running

  pid_t pid() const { return pid_; }
  const std::filesystem::path& output() const { return output_; }
  std::string Output() const;
  // Waits for `pattern` in the output; returns the text after it up to the end of its line.
  cqrs::Result<std::string> WaitForOutput(const std::string& pattern, std::chrono::milliseconds within) const;
  // Sends `sig` and waits up to `within` for the exit (then SIGKILL). Returns the wait status.
  int Stop(int sig, std::chrono::milliseconds within);
  // Waits for the process to exit by itself, up to `within`; nullopt if it did not.
  std::optional<int> Wait(std::chrono::milliseconds within);

 private:
  ChildProcess(pid_t pid, std::filesystem::path output) : pid_(pid), output_(std::move(output)) {}
  pid_t pid_ = -1;
  std::filesystem::path output_;
};

// Where a program is: next to this executable, in the build tree's sibling folder, or on PATH.
std::string FindProgram(const std::string& name, const std::vector<std::string>& build_dirs = {});

}  // namespace adsd::bench
