// The three-broker Kafka cluster of the test suite's `kafka_cluster` fixture (CMakeLists.txt,
// scripts/servers/kafka-cluster.sh): tests declared with adsd_cc_test(... KAFKA_CLUSTER) find it
// here, and kill and restart its nodes through the script. Node N is broker id N.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"

namespace cqrs::testing {

class TestKafkaCluster {
 public:
  // The fixture's cluster ($ADSD_TEST_KAFKA_CLUSTER: its directory; $ADSD_KAFKA_CLUSTER_SCRIPT),
  // or nothing, after failing the test, when the test was not run through ctest.
  static std::optional<TestKafkaCluster> Find() {
    const char* dir = std::getenv("ADSD_TEST_KAFKA_CLUSTER");
    const char* script = std::getenv("ADSD_KAFKA_CLUSTER_SCRIPT");
    if (dir == nullptr || script == nullptr) {
      ADD_FAILURE() << "ADSD_TEST_KAFKA_CLUSTER is not set: run this test through ctest (it starts the cluster)";
      return std::nullopt;
    }
    std::ifstream in(std::string(dir) + "/bootstrap");
    std::string bootstrap;
    std::getline(in, bootstrap);
    if (bootstrap.empty()) {
      ADD_FAILURE() << "no bootstrap in " << dir << ": did kafka_cluster_start fail?";
      return std::nullopt;
    }
    return TestKafkaCluster(dir, script, bootstrap);
  }

  // HOST:PORT,HOST:PORT,HOST:PORT: all three nodes.
  const std::string& bootstrap() const { return bootstrap_; }

  // SIGKILLs node N (1-3); returns once the process is gone.
  Status Kill(int node) const { return Run("kill " + std::to_string(node)).status(); }
  // Starts node N again (same data and ports); returns once the cluster shows 3 live brokers.
  Status Restart(int node) const { return Run("restart " + std::to_string(node)).status(); }
  // The node that leads most of `topic`'s partitions.
  Result<int> LeaderOfMost(const std::string& topic) const {
    ASSIGN_OR_RETURN(std::string out, Run("leader " + Quoted(topic)));
    try {
      return std::stoi(out);
    } catch (const std::exception&) {
      return Unavailable("no leader for " + topic + ": '" + out + "'");
    }
  }

 private:
  TestKafkaCluster(std::string dir, std::string script, std::string bootstrap)
      : dir_(std::move(dir)), script_(std::move(script)), bootstrap_(std::move(bootstrap)) {}

  static std::string Quoted(std::string_view s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }

  // `script COMMAND DIR ARGS`: its standard output (trimmed), or its exit status as an error.
  Result<std::string> Run(const std::string& command_and_args) const {
    const auto space = command_and_args.find(' ');
    const std::string line = Quoted(script_) + " " + command_and_args.substr(0, space) + " " + Quoted(dir_) +
                             (space == std::string::npos ? "" : command_and_args.substr(space));
    FILE* p = popen(line.c_str(), "r");
    if (p == nullptr) return Unavailable("cannot run " + line);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (status != 0) return Unavailable(line + ": exit status " + std::to_string(WEXITSTATUS(status)));
    return out;
  }

  std::string dir_, script_, bootstrap_;
};

}  // namespace cqrs::testing
