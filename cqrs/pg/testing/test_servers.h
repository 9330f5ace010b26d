// The PostgreSQL and Kafka broker of the test suite's `servers` fixture (CMakeLists.txt): tests
// that need them are declared with adsd_cc_test(... SERVERS) and find them here.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cqrs/core/uuid.h"
#include "cqrs/pg/connection.h"

namespace cqrs::testing {

// The first line of $ADSD_TEST_SERVERS/<file>; fails the test when the servers are not there.
inline std::string TestServerFile(const std::string& file) {
  const char* dir = std::getenv("ADSD_TEST_SERVERS");
  if (dir == nullptr) {
    ADD_FAILURE() << "ADSD_TEST_SERVERS is not set: run this test through ctest (it starts PostgreSQL and Kafka)";
    return {};
  }
  std::ifstream in(std::string(dir) + "/" + file);
  std::string line;
  std::getline(in, line);
  if (line.empty()) ADD_FAILURE() << "no " << file << " in " << dir << ": did test_servers_start fail?";
  return line;
}

inline std::string TestPostgresUrl() { return TestServerFile("postgres/url"); }
inline std::string TestKafkaBootstrap() { return TestServerFile("kafka/bootstrap"); }
// The PostgreSQL server's directory (to restart it: scripts/servers/postgres.sh stop|start DIR).
inline std::string TestServersDir() {
  const char* dir = std::getenv("ADSD_TEST_SERVERS");
  return dir ? dir : "";
}

// The first column of the first row of `sql` on `url` as an integer (a count); -1 when it cannot
// be read.
inline std::int64_t QueryCount(const std::string& url, const std::string& sql) {
  auto c = pg::Connection::Open(url);
  if (!c.ok()) return -1;
  auto rows = (*c)->Query(sql);
  return rows.ok() && !rows->empty() ? rows->Int(0, 0) : -1;
}

// A new, empty database on the test server; its URL.
inline std::string FreshPostgresDatabase() {
  const std::string admin = TestPostgresUrl();
  auto conn = pg::Connection::Open(admin);
  if (!conn.ok()) {
    ADD_FAILURE() << conn.status().ToString();
    return {};
  }
  std::string name = "t_" + Uuid::V7().ToString();
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  if (auto st = (*conn)->Exec("CREATE DATABASE " + name); !st.ok()) ADD_FAILURE() << st.ToString();
  return admin.substr(0, admin.rfind('/') + 1) + name;
}

}  // namespace cqrs::testing
