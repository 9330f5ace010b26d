// The PostgreSQL projection runner against the test server: the invariants it shares with the
// SQLite runner (checkpoint with the rows, no event applied twice, parking), and what is its own:
// several processes share one read model (one leader, followers that see its position and take
// over), a lost session, and the rebuild in one transaction.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/projection/pg_projection.h"
#include "cqrs/store/postgres/store.h"

namespace cqrs::projection {
namespace {

using namespace std::chrono_literals;
using pg::Param;

const pg::Migration kCountsSchema[] = {
    {1, "counts", R"sql(
CREATE TABLE counts(stream TEXT COLLATE "C" PRIMARY KEY, n BIGINT NOT NULL, last_position BIGINT NOT NULL);
CREATE TABLE parents(stream TEXT COLLATE "C" PRIMARY KEY);
CREATE TABLE children(stream TEXT COLLATE "C" NOT NULL REFERENCES parents(stream), position BIGINT PRIMARY KEY);
)sql"},
};

// Counts events per stream. Payload "poison" cannot be read while `poisoned` is set (an error in
// Apply); payload "orphan" inserts a row the database refuses until its stream has a parent row
// (an error on the server).
class CountingProjection : public PgProjection {
 public:
  std::atomic<bool> poisoned{true};
  std::string_view name() const override { return "counts"; }
  std::span<const pg::Migration> Migrations() const override { return kCountsSchema; }
  std::vector<std::pair<std::string, std::string>> PreparedStatements() const override {
    return {{"count_event",
             "INSERT INTO counts(stream, n, last_position) VALUES ($1, 1, $2) "
             "ON CONFLICT (stream) DO UPDATE SET n = counts.n + 1, last_position = excluded.last_position"}};
  }
  Status Apply(const RecordedEvent& e, std::vector<pg::Statement>& out) const override {
    if (poisoned.load() && e.payload == "poison") return Internal("cannot apply poison");
    const Param position = Param::Int(static_cast<std::int64_t>(e.position.value()));
    out.push_back(pg::Statement::Prepared("count_event", {Param::Text(e.stream), position}));
    if (e.payload == "orphan") {
      out.push_back({"INSERT INTO children(stream, position) VALUES ($1, $2)", {Param::Text(e.stream), position}});
    }
    return Status::Ok();
  }
  std::vector<std::string> Reset() const override { return {"DELETE FROM children", "DELETE FROM counts"}; }
};

class PgProjectionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenPostgresEventStore({url_});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto c = pg::Connection::Open(url_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conn_ = std::move(*c);
  }

  Position Append(const std::string& stream, const std::string& payload) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = "Counted";
    e.payload = payload;
    auto r = store_->Append(stream, ExpectedVersion::Any(), std::span(&e, 1));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->last_position : Position(0);
  }

  std::unique_ptr<PgProjectionRunner> StartRunner(const CountingProjection& p) {
    PgRunnerOptions o;
    o.url = url_;
    o.retry_backoff = 1ms;
    o.follow_interval = 100ms;
    auto r = PgProjectionRunner::Start(*store_, p, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  std::map<std::string, std::int64_t> Counts() {
    auto rows = conn_->Query("SELECT stream, n FROM counts");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<std::string, std::int64_t> out;
    for (int i = 0; rows.ok() && i < rows->size(); ++i) out[std::string(rows->Text(i, 0))] = rows->Int(i, 1);
    return out;
  }

  std::int64_t Checkpoint() {
    auto rows = conn_->Query("SELECT position FROM projection_checkpoints WHERE projection = 'counts'");
    return rows.ok() && !rows->empty() ? rows->Int(0, 0) : -1;
  }

  static bool Eventually(const std::function<bool()>& condition) {
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }

  const std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<pg::Connection> conn_;
};

TEST_F(PgProjectionRunnerTest, FollowsTheStoreAndCommitsTheCheckpointWithTheRows) {
  CountingProjection p;
  auto runner = StartRunner(p);
  ASSERT_TRUE(runner);
  Position last;
  for (int i = 0; i < 60; ++i) last = Append("s-" + std::to_string(i % 3), "x");
  ASSERT_TRUE(runner->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_TRUE(runner->leader());
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"s-0", 20}, {"s-1", 20}, {"s-2", 20}}));
  EXPECT_EQ(Checkpoint(), static_cast<std::int64_t>(last.value()));
  EXPECT_TRUE(runner->status().ok());
}

TEST_F(PgProjectionRunnerTest, ARestartResumesAfterTheCheckpointAndAppliesNothingTwice) {
  CountingProjection p;
  {
    auto runner = StartRunner(p);
    ASSERT_TRUE(runner->WaitFor(Append("a", "x"), std::chrono::steady_clock::now() + 20s));
  }
  Append("a", "x");
  const Position last = Append("b", "x");
  auto again = StartRunner(p);
  EXPECT_GE(again->position().value(), 1u);  // the committed checkpoint, before any new batch
  ASSERT_TRUE(again->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"a", 2}, {"b", 1}}));
}

TEST_F(PgProjectionRunnerTest, EventsThatKeepFailingParkTheirStreamInOrderAndReplayUnparksIt) {
  CountingProjection p;
  auto runner = StartRunner(p);
  Append("good", "x");
  Append("bad", "poison");     // fails in Apply
  Append("bad", "x");          // parked behind it, in order
  Append("orphan", "orphan");  // fails on the server (no parent row)
  const Position last = Append("good", "x");
  ASSERT_TRUE(runner->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"good", 2}}));
  auto parked = runner->ListParked();
  ASSERT_TRUE(parked.ok()) << parked.status().ToString();
  ASSERT_EQ(parked->size(), 2u);
  EXPECT_EQ((*parked)[0].stream, "bad");
  EXPECT_EQ((*parked)[0].events, 2);
  EXPECT_NE((*parked)[0].error.find("cannot apply poison"), std::string::npos);
  EXPECT_EQ((*parked)[1].stream, "orphan");
  EXPECT_NE((*parked)[1].error.find("foreign key"), std::string::npos) << (*parked)[1].error;

  // Still failing: the replay changes nothing and the stream stays parked.
  EXPECT_FALSE(runner->ReplayParked("orphan").ok());
  EXPECT_EQ(runner->ListParked()->size(), 2u);
  // The causes fixed: each stream's events apply in order, once.
  p.poisoned = false;
  ASSERT_TRUE(conn_->Exec("INSERT INTO parents VALUES ('orphan')").ok());
  EXPECT_TRUE(runner->ReplayParked("bad").ok());
  EXPECT_TRUE(runner->ReplayParked("orphan").ok());
  EXPECT_EQ(runner->ReplayParked("good").code(), StatusCode::kNotFound);
  EXPECT_TRUE(runner->ListParked()->empty());
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"good", 2}, {"bad", 2}, {"orphan", 1}}));
  // New events of a replayed stream apply directly.
  ASSERT_TRUE(runner->WaitFor(Append("bad", "x"), std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(Counts()["bad"], 3);
}

// Two processes sharing one read model: one applies, the other sees its position (what its
// read-your-writes waits on) and takes over from the checkpoint when the first one goes.
TEST_F(PgProjectionRunnerTest, OneOfSeveralRunnersAppliesTheOthersFollowAndTakeOver) {
  CountingProjection p;
  auto first = StartRunner(p);
  ASSERT_TRUE(Eventually([&] { return first->leader(); }));
  auto second = StartRunner(p);
  Position last;
  for (int i = 0; i < 50; ++i) last = Append("s", "x");
  ASSERT_TRUE(second->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_FALSE(second->leader());
  EXPECT_EQ(Counts()["s"], 50);  // what a follower's position says is visible, and applied once
  EXPECT_EQ(second->ReplayParked("s").code(), StatusCode::kUnavailable);  // the leader owns that

  first.reset();  // its session ends: the lock is free
  for (int i = 0; i < 50; ++i) last = Append("s", "x");
  ASSERT_TRUE(second->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_TRUE(second->leader());
  EXPECT_EQ(Counts()["s"], 100);
}

TEST_F(PgProjectionRunnerTest, ALostSessionIsNotAnEventFailureTheRunnerReconnectsAndResumes) {
  CountingProjection p;
  auto runner = StartRunner(p);
  ASSERT_TRUE(runner->WaitFor(Append("s", "x"), std::chrono::steady_clock::now() + 20s));
  // Every other session of the database, the runner's included, is cut.
  ASSERT_TRUE(conn_
                  ->Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                  .ok());
  Position last;
  for (int i = 0; i < 20; ++i) {
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
      EventData e;
      e.event_id = Uuid::V7();
      e.type = "Counted";
      e.payload = "x";
      auto r = store_->Append("s", ExpectedVersion::Any(), std::span(&e, 1));
      if (r.ok()) {
        last = r->last_position;
        break;
      }
    }
  }
  ASSERT_TRUE(runner->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  EXPECT_TRUE(runner->ListParked()->empty());
  EXPECT_EQ(Counts()["s"], static_cast<std::int64_t>(last.value()));
  EXPECT_TRUE(Eventually([&] { return runner->status().ok(); }));
}

TEST_F(PgProjectionRunnerTest, RebuildRecomputesTheRowsInOneTransaction) {
  CountingProjection p;
  auto runner = StartRunner(p);
  Append("a", "x");
  Append("b", "poison");
  const Position last = Append("a", "x");
  ASSERT_TRUE(runner->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  const auto before = Counts();
  // Damage the read model; fix the cause of the parked stream.
  ASSERT_TRUE(conn_->Exec("UPDATE counts SET n = 99; INSERT INTO counts VALUES ('ghost', 1, 1)").ok());
  p.poisoned = false;
  auto events = runner->Rebuild();
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ(*events, last.value());
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"a", 2}, {"b", 1}}));
  EXPECT_NE(Counts(), before);  // "b" was parked before; the rebuild applied it
  EXPECT_TRUE(runner->ListParked()->empty());
  EXPECT_EQ(Checkpoint(), static_cast<std::int64_t>(last.value()));
  // And the live runner goes on after it.
  ASSERT_TRUE(runner->WaitFor(Append("a", "x"), std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(Counts()["a"], 3);
}

// The read model against another store than the one it followed, as after the store went back in
// time: past its head, then at a position where it holds another event. Refused, then emptied and
// rebuilt.
TEST_F(PgProjectionRunnerTest, AReadModelAheadOfTheStoreIsRefusedOrEmptiedAndRebuilt) {
  CountingProjection p;
  Position last;
  for (int i = 0; i < 5; ++i) last = Append("old", "x");
  {
    auto runner = StartRunner(p);
    ASSERT_TRUE(runner->WaitFor(last, std::chrono::steady_clock::now() + 20s));
  }
  auto other = OpenPostgresEventStore({cqrs::testing::FreshPostgresDatabase()});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto append_other = [&](const std::string& stream) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = "Counted";
    e.payload = "x";
    ASSERT_TRUE((*other)->Append(stream, ExpectedVersion::Any(), std::span(&e, 1)).ok());
  };
  append_other("new");
  append_other("new");
  PgRunnerOptions o;
  o.url = url_;
  auto refused = PgProjectionRunner::Start(**other, p, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  EXPECT_NE(refused.status().message().find("the read model 'counts' in PostgreSQL database"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("is at position 5, past the event store's head 2"), std::string::npos)
      << refused.status().ToString();
  for (int i = 0; i < 4; ++i) append_other("new");
  refused = PgProjectionRunner::Start(**other, p, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is at position 5, where the event store now holds another event"),
            std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"old", 5}}));  // refused: nothing changed

  std::vector<std::string> repaired;
  o.on_ahead = AheadPolicy::kRepair;
  o.on_repaired = [&](const std::string& what) { repaired.push_back(what); };
  auto runner = PgProjectionRunner::Start(**other, p, o);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  ASSERT_EQ(repaired.size(), 1u);
  EXPECT_NE(repaired[0].find("emptied, it is rebuilt from the event store"), std::string::npos) << repaired[0];
  ASSERT_TRUE((*runner)->WaitFor(Position(6), std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(Counts(), (std::map<std::string, std::int64_t>{{"new", 6}}));
  EXPECT_EQ(Checkpoint(), 6);
}

}  // namespace
}  // namespace cqrs::projection
