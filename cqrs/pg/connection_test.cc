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

TEST(PgConnection, AVanishingPeerIsNoticedWithinSecondsUnlessTheUrlSaysOtherwise) {
  const std::string url = cqrs::testing::TestPostgresUrl();
  auto c = Connection::Open(url);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->Option("connect_timeout"), "5");
  EXPECT_EQ((*c)->Option("keepalives_idle"), "10");
  EXPECT_EQ((*c)->Option("keepalives_count"), "3");
  // The server's end of the session probes the client too (over TCP, as the test server is).
  auto server_idle = (*c)->Query("SHOW tcp_keepalives_idle");
  ASSERT_TRUE(server_idle.ok()) << server_idle.status().ToString();
  EXPECT_EQ(server_idle->Text(0, 0), "10");
  auto own = Connection::Open(url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=2");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ((*own)->Option("connect_timeout"), "2");
  EXPECT_EQ((*own)->Option("keepalives_idle"), "10");
}

}  // namespace
}  // namespace cqrs::pg
