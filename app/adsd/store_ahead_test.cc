// The start-time check of the distributed shape against a real PostgreSQL store: every consumer a
// process runs, found ahead (past the head, or another event at its position), named with the
// remedy and changed in nothing; then repaired each in its way; then found in the store.
#include "app/adsd/store_ahead.h"

#include <gtest/gtest.h>

#include "ads/validation_worker.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::app {
namespace {

using cqrs::testing::QueryCount;

class StoreAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = cqrs::OpenPostgresEventStore({url_});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    for (int i = 0; i < 4; ++i) {
      cqrs::EventData e;
      e.event_id = cqrs::Uuid::V7();
      e.type = "Happened";
      e.payload = "{}";
      ASSERT_TRUE(store_->Append("s", cqrs::ExpectedVersion::Any(), std::span(&e, 1)).ok());
    }
    auto c = cqrs::pg::Connection::Open(url_);
    ASSERT_TRUE(c.ok());
    db_ = std::move(*c);
    // The relay's checkpoint at an event it never applied (another hash), the fan-out's past the
    // head: as after a restore of the events without their checkpoints.
    ASSERT_TRUE(db_->Exec("INSERT INTO checkpoints (name, position, hash) VALUES ('bus-relay:t', 3, "
                          "sha256('another event')), ('webhooks', 9, NULL)")
                    .ok());
    // A read process's SQLite model and a worker's offset, both past the head.
    auto read = cqrs::sql::Database::Open(ReadModel());
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE((*read)
                    ->Exec("CREATE TABLE projection_checkpoints(projection TEXT PRIMARY KEY, position INTEGER NOT "
                           "NULL, hash BLOB); INSERT INTO projection_checkpoints VALUES ('ads', 7, NULL)")
                    .ok());
    auto offsets = cqrs::log::ConsumerOffsets::Open(Offsets());
    ASSERT_TRUE(offsets.ok());
    ASSERT_TRUE((*offsets)->Commit(std::string(ads::ValidationWorker::kGroup), cqrs::Position(12)).ok());
  }
  std::filesystem::path ReadModel() const { return temp_.path() / "read.db"; }
  std::filesystem::path Offsets() const { return temp_.path() / "offsets"; }
  StoreAheadCheck Check(cqrs::AheadPolicy policy) const {
    StoreAheadCheck c;
    c.store_url = url_;
    c.checks_store_checkpoints = true;
    c.sqlite_read_model = ReadModel();
    c.offsets_dir = Offsets();
    c.policy = policy;
    return c;
  }
  std::int64_t Count(const std::string& sql) const { return QueryCount(url_, sql); }

  cqrs::testing::TempDir temp_;
  std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::unique_ptr<cqrs::EventStore> store_;
  std::unique_ptr<cqrs::pg::Connection> db_;
};

TEST_F(StoreAheadTest, EveryConsumerAheadIsNamedWithTheRemedyThenRepairedEachInItsWay) {
  auto refused = CheckConsumersAgainstStore(*store_, Check(cqrs::AheadPolicy::kRefuse));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), cqrs::StatusCode::kCorruption);
  const std::string& msg = refused.status().message();
  for (const std::string& part :
       {std::string("the checkpoint 'bus-relay:t' in the event store's table checkpoints is at position 3, where the "
                    "event store now holds another event"),
        std::string("the checkpoint 'webhooks' in the event store's table checkpoints is at position 9, past the event "
                    "store's head 4"),
        "the SQLite read model (" + ReadModel().string() + ") is at position 7, past the event store's head 4",
        "the validator's offset (" + (Offsets() / "validator.offset").string() +
            ") is at position 12, past the event store's head 4",
        std::string("start each process once with --repair-ahead")}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\nnot in: " << msg;
  }
  // Refused: nothing changed.
  EXPECT_TRUE(std::filesystem::exists(ReadModel()));
  EXPECT_EQ(Count("SELECT position FROM checkpoints WHERE name = 'webhooks'"), 9);
  EXPECT_EQ(Count("SELECT count(*) FROM checkpoints WHERE name = 'bus-relay:t'"), 1);

  auto repaired = CheckConsumersAgainstStore(*store_, Check(cqrs::AheadPolicy::kRepair));
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(repaired->repairs.size(), 4u);
  for (const std::string& line : repaired->repairs) EXPECT_TRUE(line.starts_with("repaired: ")) << line;
  EXPECT_FALSE(repaired->generation.has_value());  // no bus in this check
  // The relay publishes again from the start; the fan-out stands at the head, with its hash; the
  // read model is gone (rebuilt at start); the worker looks at every event again.
  EXPECT_EQ(Count("SELECT count(*) FROM checkpoints WHERE name = 'bus-relay:t'"), 0);
  EXPECT_EQ(Count("SELECT position FROM checkpoints WHERE name = 'webhooks'"), 4);
  EXPECT_EQ(Count("SELECT count(*) FROM checkpoints c JOIN events e ON e.position = c.position AND e.hash = c.hash "
                  "WHERE c.name = 'webhooks'"),
            1);
  EXPECT_FALSE(std::filesystem::exists(ReadModel()));
  auto offsets = cqrs::log::ConsumerOffsets::Open(Offsets());
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ((*offsets)->Load(std::string(ads::ValidationWorker::kGroup)), cqrs::Position(0));

  auto settled = CheckConsumersAgainstStore(*store_, Check(cqrs::AheadPolicy::kRefuse));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_TRUE(settled->repairs.empty());
}

}  // namespace
}  // namespace adsd::app
