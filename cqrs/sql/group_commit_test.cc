#include "cqrs/sql/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cqrs/core/testing/temp_dir.h"

namespace cqrs::sql {
namespace {

TEST(GroupCommit, ConcurrentWritesAllLandAndAFailingOneFailsAlone) {
  testing::TempDir dir;
  auto db = Database::Open(dir.path() / "g.db", {.durability = Durability::kFull});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k INTEGER PRIMARY KEY)").ok());
  Mutex mu;
  GroupCommit commits(**db, mu);
  constexpr int kThreads = 16, kEach = 50;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Key 7 is written by every thread: only the first succeeds.
        const int key = i == 0 ? 7 : 1000 + t * kEach + i;
        Status st =
            commits.Run([key](Database& d) { return d.Exec("INSERT INTO t VALUES (" + std::to_string(key) + ")"); });
        if (!st.ok()) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), kThreads - 1);
  MutexLock lock(mu);
  auto q = (*db)->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->Int(0), kThreads * (kEach - 1) + 1);
}

}  // namespace
}  // namespace cqrs::sql
