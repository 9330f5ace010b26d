// AdsdProcess: a real adsd started as a child process for end-to-end tests, on a free port.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "http/free_port.h"
#include "http/test_client.h"

namespace adsd::app::testing {

// Runs a shell command; its exit status and standard output.
inline std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline constexpr const char* kAcme = "acme-token-0123456789abcdef";
inline constexpr const char* kGlobex = "globex-token-0123456789abcdef";
inline constexpr const char* kAdmin = "admin-token-0123456789abcdef";
// Two retailers with small rate limits (20 requests at once, 20 a second), for the limit tests.
inline constexpr const char* kFlood = "flood-token-0123456789abcdef";
inline constexpr const char* kCalm = "calm-token-0123456789abcdef";

// An old-style key file with plaintext tokens (adsd migrates it to hashes at start, so every
// start exercises the migration). The tests' main keys are unlimited: they load the service
// on purpose, and the limits have their own keys and tests.
inline void WriteKeys(const std::filesystem::path& file) {
  std::ofstream out(file);
  out << "[[key]]\ntoken = \"" << kAcme << "\"\nretailer = \"acme\"\nunlimited = true\n"
      << "[[key]]\ntoken = \"" << kGlobex << "\"\nretailer = \"globex\"\nunlimited = true\n"
      << "[[key]]\ntoken = \"" << kAdmin << "\"\nrole = \"admin\"\n"
      << "[[key]]\ntoken = \"" << kFlood << "\"\nretailer = \"flood\"\nrate_per_second = 20\nburst = 20\n"
      << "[[key]]\ntoken = \"" << kCalm << "\"\nretailer = \"calm\"\nrate_per_second = 20\nburst = 20\n";
}

class AdsdProcess {
 public:
  // `env`: extra "NAME=value" settings for the child (e.g. a failpoint).
  AdsdProcess(const std::filesystem::path& data_dir, const std::string& pipeline,
              const std::vector<std::string>& env = {}, const std::vector<std::string>& extra_args = {}) {
    std::filesystem::create_directories(data_dir.parent_path());
    WriteKeys(data_dir.parent_path() / "keys.toml");
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      const std::string keys = (data_dir.parent_path() / "keys.toml").string();
      std::vector<std::string> args = {ADSD_BINARY, "--data-dir", data_dir.string(), "--api-keys",
                                       keys,        "--pipeline", pipeline};
      // A free port unless the caller names one (processes that share a port).
      if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end()) {
        args.insert(args.end(), {"--listen", "127.0.0.1:0"});
      }
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(ADSD_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    // The first line says where it listens: "adsd listening on http://127.0.0.1:PORT (…".
    std::string line;
    char c;
    while (read(out_, &c, 1) == 1 && c != '\n') line += c;
    const auto at = line.find("127.0.0.1:");
    if (at != std::string::npos) port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 10)));
  }
  ~AdsdProcess() {
    if (pid_ > 0) Kill(SIGKILL);
    if (out_ >= 0) close(out_);
  }

  std::uint16_t port() const { return port_; }
  bool started() const { return port_ != 0; }
  pid_t pid() const { return pid_; }

  // Sends `sig` and reaps the process; returns its wait status.
  // Waits for the process to exit by itself; returns its wait status.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  // How the process ended, if it has: "exit N", "signal N"; empty while it runs.
  std::string Ended() {
    if (pid_ <= 0) return "reaped";
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return "";
    pid_ = -1;
    return WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status));
  }

  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  struct Reply {
    int status = 0;
    std::string head, body;
  };
  Reply Call(const std::string& method, const std::string& target, const std::string& token,
             const std::string& body = "", const std::string& extra_headers = "") const {
    http::testing::Connection c(port_);
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += extra_headers + "\r\n" + body;
    c.Send(req);
    auto r = c.Receive(std::chrono::seconds(30));
    if (!r) return {};
    return {r->status, r->head, r->body};
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::uint16_t port_ = 0;
};

// A real ads-validator child process; `args` as on its command line. Listens on a free port
// unless `args` says otherwise.
class ValidatorProcess {
 public:
  explicit ValidatorProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      args.insert(args.begin(), VALIDATOR_BINARY);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(VALIDATOR_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const auto at = line.find("127.0.0.1:");
    if (at != std::string::npos) port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 10)));
  }
  ~ValidatorProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/validate"; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

using http::FreePort;  // http/free_port.h

}  // namespace adsd::app::testing
