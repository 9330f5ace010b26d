#include "app/adsctl/bench/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace adsd::bench {

namespace fs = std::filesystem;

cqrs::Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv, const fs::path& output) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return cqrs::ErrnoError("start " + argv[0], rc);
  return ChildProcess(pid, output);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), output_(std::move(other.output_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) Stop(SIGKILL, std::chrono::seconds(5));
    pid_ = std::exchange(other.pid_, -1);
    output_ = std::move(other.output_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Stop(SIGKILL, std::chrono::seconds(5));
}

std::string ChildProcess::Output() const {
  std::ifstream in(output_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

cqrs::Result<std::string> ChildProcess::WaitForOutput(const std::string& pattern,
                                                      std::chrono::milliseconds within) const {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (true) {
    const std::string out = Output();
    if (auto at = out.find(pattern); at != std::string::npos) {
      const auto from = at + pattern.size();
      const auto eol = out.find('\n', from);
      if (eol != std::string::npos) return out.substr(from, eol - from);
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      return cqrs::Unavailable("process " + std::to_string(pid_) + " exited before saying '" + pattern + "': " + out);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return cqrs::DeadlineExceeded("no '" + pattern + "' in the output within " + std::to_string(within.count()) +
                                    " ms: " + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a file the child writes
  }
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (pid_ > 0) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling waitpid
  }
  return std::nullopt;
}

int ChildProcess::Stop(int sig, std::chrono::milliseconds within) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  if (auto status = Wait(within)) return *status;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string FindProgram(const std::string& name, const std::vector<std::string>& build_dirs) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (fs::exists(self.parent_path() / name)) return (self.parent_path() / name).string();
    for (const auto& d : build_dirs) {
      const fs::path p = self.parent_path() / d / name;
      if (fs::exists(p)) return fs::weakly_canonical(p).string();
    }
  }
  return name;  // looked up in PATH by posix_spawnp
}

}  // namespace adsd::bench
