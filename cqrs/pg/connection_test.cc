// The libpq wrapper against the test server: statements prepared on first use, and what a lost
// session does to them.
#include "cqrs/pg/connection.h"

#include <gtest/gtest.h>

#include "cqrs/pg/testing/test_servers.h"

namespace cqrs::pg {
namespace {

TEST(PgConnection, QueryPreparedPlansOnceAndSurvivesAReconnect) {
  const std::string url = cqrs::testing::FreshPostgresDatabase();
  auto c = Connection::Open(url);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string sql = "SELECT $1::bigint + 1";
  for (int i = 0; i < 3; ++i) {
    auto r = (*c)->QueryPrepared(sql, {Param::Int(i)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->Int(0, 0), i + 1);
  }
  auto count = (*c)->Query("SELECT count(*) FROM pg_prepared_statements");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->Int(0, 0), 1);  // one statement for three calls

  // The session is cut: the call fails as kUnavailable; after Reconnect the statement is
  // prepared again on the new session.
  auto admin = Connection::Open(url);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)
                  ->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  auto lost = (*c)->QueryPrepared(sql, {Param::Int(1)});
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable) << lost.status().ToString();
  ASSERT_TRUE((*c)->Reconnect().ok());
  auto again = (*c)->QueryPrepared(sql, {Param::Int(41)});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->Int(0, 0), 42);

  // A statement the server refuses is an error and leaves nothing behind.
  EXPECT_FALSE((*c)->QueryPrepared("SELECT no_such_column FROM pg_class").ok());
  EXPECT_TRUE((*c)->QueryPrepared(sql, {Param::Int(0)}).ok());
}

}  // namespace
}  // namespace cqrs::pg
