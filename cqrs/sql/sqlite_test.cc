#include "cqrs/sql/sqlite.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cqrs/core/testing/temp_dir.h"

namespace cqrs::sql {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open(dir_ / "t.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, n INTEGER)").ok());
  }
  void TearDown() override { db_.reset(); }
  cqrs::testing::TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteTest, BoundValuesReadBackWithNulls) {
  auto ins = db_->Prepare("INSERT INTO t(k, v, n) VALUES (?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  ASSERT_TRUE(ins->Bind(1, std::int64_t{1}).Bind(2, std::string_view("a\0b", 3)).BindNull(3).Run().ok());
  auto sel = db_->Prepare("SELECT v, n FROM t WHERE k = 1");
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->Text(0), std::string_view("a\0b", 3));
  EXPECT_FALSE(sel->OptInt(1).has_value());
  EXPECT_FALSE(*sel->Step());
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  {
    auto tx = Transaction::Begin(*db_);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO t(k) VALUES (1)").ok());
  }
  {
    auto tx = Transaction::Begin(*db_);
    ASSERT_TRUE(db_->Exec("INSERT INTO t(k) VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto sel = db_->Prepare("SELECT group_concat(k) FROM t");
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->Text(0), "2");
}

TEST_F(SqliteTest, ConstraintViolationIsAlreadyExists) {
  ASSERT_TRUE(db_->Exec("INSERT INTO t(k) VALUES (1)").ok());
  EXPECT_EQ(db_->Exec("INSERT INTO t(k) VALUES (1)").code(), StatusCode::kAlreadyExists);
}

TEST_F(SqliteTest, BadSqlIsAnErrorNotACrash) {
  EXPECT_FALSE(db_->Prepare("SELEC nonsense").ok());
  EXPECT_FALSE(db_->Exec("DROP TABLE nope").ok());
}

}  // namespace
}  // namespace cqrs::sql
