#include "cqrs/projection/projection_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/store/embedded_store.h"

namespace cqrs::projection {
namespace {

using namespace std::chrono_literals;

// Counts events per stream; fails on any event whose payload is "poison" while `poisoned` is set.
class CountingProjection : public Projection {
 public:
  bool poisoned = true;
  std::string_view name() const override { return "counts"; }
  Status Migrate(sql::Database& db) override {
    return db.Exec(
        "CREATE TABLE IF NOT EXISTS counts(stream TEXT PRIMARY KEY, n INTEGER NOT NULL, "
        "last_position INTEGER NOT NULL)");
  }
  Status Apply(sql::Database& db, const RecordedEvent& e) override {
    if (poisoned && e.payload == "poison") return Internal("cannot apply poison");
    ASSIGN_OR_RETURN(auto st,
                     db.Prepare("INSERT INTO counts(stream, n, last_position) VALUES (?, 1, ?) "
                                "ON CONFLICT(stream) DO UPDATE SET n = n + 1, last_position = excluded.last_position"));
    st.Bind(1, e.stream).Bind(2, static_cast<std::int64_t>(e.position.value()));
    return st.Run();
  }
};

class ProjectionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedEventStore({dir_ / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override { store_.reset(); }

  Position Append(const std::string& stream, const std::string& payload) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = "Counted";
    e.payload = payload;
    auto r = store_->Append(stream, ExpectedVersion::Any(), std::span(&e, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->last_position;
  }

  std::unique_ptr<sql::Database> OpenDb(const std::string& file) {
    auto db = sql::Database::Open(dir_ / file);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(*db);
  }

  std::map<std::string, std::int64_t> Counts(const std::string& file) {
    auto db = OpenDb(file);
    auto q = db->Prepare("SELECT stream, n FROM counts");
    std::map<std::string, std::int64_t> out;
    while (*q->Step()) out[std::string(q->Text(0))] = q->Int(1);
    return out;
  }

  cqrs::testing::TempDir temp_;
  const std::filesystem::path& dir_ = temp_.path();
  std::unique_ptr<EventStore> store_;
};

TEST_F(ProjectionRunnerTest, FollowsTheStoreAndCommitsCheckpointWithRows) {
  CountingProjection p;
  ProjectionRunner runner(*store_, OpenDb("read.db"), p);
  ASSERT_TRUE(runner.Start().ok());
  Position last;
  for (int i = 0; i < 50; ++i) last = Append("s-" + std::to_string(i % 5), "x");
  ASSERT_TRUE(runner.WaitFor(last, std::chrono::steady_clock::now() + 10s));
  auto counts = Counts("read.db");
  ASSERT_EQ(counts.size(), 5u);
  for (auto& [s, n] : counts) EXPECT_EQ(n, 10) << s;
}

TEST_F(ProjectionRunnerTest, RestartResumesFromCheckpointWithoutApplyingTwice) {
  CountingProjection p;
  Position last;
  for (int i = 0; i < 20; ++i) last = Append("s", "x");
  {
    ProjectionRunner runner(*store_, OpenDb("read.db"), p);
    ASSERT_TRUE(runner.CatchUp(last).ok());
  }
  for (int i = 0; i < 5; ++i) last = Append("s", "x");
  ProjectionRunner runner(*store_, OpenDb("read.db"), p);
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(runner.WaitFor(last, std::chrono::steady_clock::now() + 10s));
  // Redelivering everything from the start must change nothing.
  ASSERT_TRUE(runner.CatchUp(last).ok());
  EXPECT_EQ(Counts("read.db")["s"], 25);
}

TEST_F(ProjectionRunnerTest, RebuildFromTheLogEqualsIncrementalModel) {
  CountingProjection p;
  ProjectionRunner live(*store_, OpenDb("live.db"), p);
  ASSERT_TRUE(live.Start().ok());
  Position last;
  for (int i = 0; i < 300; ++i) last = Append("s-" + std::to_string(i * 7 % 13), "x");
  ASSERT_TRUE(live.WaitFor(last, std::chrono::steady_clock::now() + 10s));
  ProjectionRunner rebuild(*store_, OpenDb("rebuilt.db"), p, RunnerOptions{.max_batch = 17});
  ASSERT_TRUE(rebuild.CatchUp(store_->Head()).ok());
  EXPECT_EQ(Counts("live.db"), Counts("rebuilt.db"));
}

TEST_F(ProjectionRunnerTest, FailingStreamIsParkedInOrderAndOthersGoOn) {
  CountingProjection p;
  ProjectionRunner runner(*store_, OpenDb("read.db"), p,
                          RunnerOptions{.attempts_before_parking = 2, .retry_backoff = 1ms});
  ASSERT_TRUE(runner.Start().ok());
  Append("bad", "x");
  const Position poison = Append("bad", "poison");
  Append("good", "x");
  Append("bad", "x");  // after the poison: parked too, to keep the stream's order
  const Position last = Append("good", "x");
  ASSERT_TRUE(runner.WaitFor(last, std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(runner.status().ok());

  auto counts = Counts("read.db");
  EXPECT_EQ(counts["good"], 2);
  EXPECT_EQ(counts["bad"], 1);
  auto parked = runner.ListParked();
  ASSERT_TRUE(parked.ok());
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ((*parked)[0].stream, "bad");
  EXPECT_EQ((*parked)[0].first_position, poison);
  EXPECT_EQ((*parked)[0].events, 2);

  // Still failing: replay keeps it parked.
  EXPECT_FALSE(runner.ReplayParked("bad").ok());
  p.poisoned = false;
  ASSERT_TRUE(runner.ReplayParked("bad").ok());
  EXPECT_EQ(Counts("read.db")["bad"], 3);
  EXPECT_TRUE(runner.ListParked()->empty());
  EXPECT_EQ(runner.ReplayParked("bad").code(), StatusCode::kNotFound);
}

TEST_F(ProjectionRunnerTest, TheCheckpointRecordsTheHashOfItsLastEvent) {
  CountingProjection p;
  Position last;
  for (int i = 0; i < 7; ++i) last = Append("s", "x");
  {
    ProjectionRunner runner(*store_, OpenDb("read.db"), p, RunnerOptions{.max_batch = 3});
    ASSERT_TRUE(runner.CatchUp(last).ok());
  }
  auto db = OpenDb("read.db");
  auto cp = ReadCheckpoint(*db, "counts");
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->position, last);
  auto at = store_->ReadAll(last, 1);
  ASSERT_TRUE(at.ok() && !at->empty());
  ASSERT_TRUE((*cp)->hash.has_value());
  EXPECT_EQ(*(*cp)->hash, at->front().hash);
  auto none = ReadCheckpoint(*db, "another projection");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(ProjectionRunnerTest, AFileFromBeforeCheckpointHashesIsMigratedAndKeepsItsPosition) {
  // A read model as the runner left it before checkpoints carried hashes.
  {
    auto db = OpenDb("old.db");
    ASSERT_TRUE(db->Exec("CREATE TABLE projection_checkpoints(projection TEXT PRIMARY KEY, position INTEGER NOT NULL);"
                         "CREATE TABLE counts(stream TEXT PRIMARY KEY, n INTEGER NOT NULL, last_position INTEGER NOT "
                         "NULL);"
                         "INSERT INTO counts VALUES ('s', 2, 2);"
                         "INSERT INTO projection_checkpoints VALUES ('counts', 2);")
                    .ok());
    auto cp = ReadCheckpoint(*db, "counts");  // readable as it is: the position alone
    ASSERT_TRUE(cp.ok() && cp->has_value()) << cp.status().ToString();
    EXPECT_EQ((*cp)->position, Position(2));
    EXPECT_FALSE((*cp)->hash.has_value());
  }
  CountingProjection p;
  Append("s", "x");
  Append("s", "x");
  const Position last = Append("s", "x");
  {
    ProjectionRunner runner(*store_, OpenDb("old.db"), p);
    ASSERT_TRUE(runner.Start().ok());  // adds the column
    EXPECT_EQ(runner.position(), Position(2));
    ASSERT_TRUE(runner.WaitFor(last, std::chrono::steady_clock::now() + 10s));
  }
  EXPECT_EQ(Counts("old.db")["s"], 3);  // resumed after 2, nothing applied twice
  auto db = OpenDb("old.db");
  auto cp = ReadCheckpoint(*db, "counts");
  ASSERT_TRUE(cp.ok() && cp->has_value());
  EXPECT_EQ((*cp)->position, last);
  EXPECT_TRUE((*cp)->hash.has_value());
}

TEST_F(ProjectionRunnerTest, WaitForTimesOutWhenNothingArrives) {
  CountingProjection p;
  ProjectionRunner runner(*store_, OpenDb("read.db"), p);
  ASSERT_TRUE(runner.Start().ok());
  EXPECT_FALSE(runner.WaitFor(Position(1), std::chrono::steady_clock::now() + 20ms));
}

}  // namespace
}  // namespace cqrs::projection
