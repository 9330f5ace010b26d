// What is particular to the sequenced PostgreSQL store: appends commit without waiting for each
// other, readers never skip a position, the fencing token, the migration of a database written
// by the row-lock design, the JSON view, and GetStreamVersion's errors.
#include <future>

#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/schema.h"
#include "cqrs/store/postgres/store.h"
#include "cqrs/store/postgres/verify.h"

namespace cqrs {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<pg::Connection> Connect(const std::string& url) {
  auto c = pg::Connection::Open(url);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

std::unique_ptr<EventStore> OpenStore(PostgresStoreOptions o) {
  auto s = OpenPostgresEventStore(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

EventData Event(std::string payload, std::string metadata = "") {
  EventData e;
  e.event_id = Uuid::V7();
  e.type = "Happened";
  e.payload = std::move(payload);
  e.metadata = std::move(metadata);
  return e;
}

std::int64_t Scalar(pg::Connection& c, const std::string& sql) {
  auto rows = c.Query(sql);
  EXPECT_TRUE(rows.ok() && !rows->empty()) << sql << ": " << rows.status().ToString();
  return rows.ok() && !rows->empty() ? rows->Int(0, 0) : -1;
}

// Waits (bounded) until `sql` answers `want`.
bool Eventually(pg::Connection& c, const std::string& sql, std::int64_t want) {
  for (auto deadline = Clock::now() + 20s; Clock::now() < deadline;) {
    if (Scalar(c, sql) == want) return true;
    std::this_thread::sleep_for(5ms);  // polling another session's progress, with a deadline
  }
  return false;
}

// The insert of an append transaction, by hand (what PgAppender sends), left uncommitted.
Status InsertUnnumbered(pg::Connection& c, const std::string& stream, std::uint64_t version) {
  return c.Exec(
      "INSERT INTO events (stream, version, event_id, type, schema_version, timestamp_us, correlation_id, "
      "causation_id, metadata, payload) VALUES ('" +
      stream + "', " + std::to_string(version) + ", '" + Uuid::V7().ToString() + "', 'Happened', 1, 1, '" +
      Uuid::Nil().ToString() + "', '" + Uuid::Nil().ToString() + "', '', '{}')");
}

class SequencedAppends : public ::testing::TestWithParam<PostgresStoreOptions::Numbering> {
 protected:
  PostgresStoreOptions Options() {
    PostgresStoreOptions o{url_};
    o.numbering = GetParam();
    return o;
  }
  std::string url_ = testing::FreshPostgresDatabase();
};

INSTANTIATE_TEST_SUITE_P(Numbering, SequencedAppends,
                         ::testing::Values(PostgresStoreOptions::Numbering::kAnyFree,
                                           PostgresStoreOptions::Numbering::kLeaderInline,
                                           PostgresStoreOptions::Numbering::kSequencer),
                         [](const auto& p) {
                           switch (p.param) {
                             case PostgresStoreOptions::Numbering::kAnyFree:
                               return std::string("AnyFree");
                             case PostgresStoreOptions::Numbering::kLeaderInline:
                               return std::string("LeaderInline");
                             case PostgresStoreOptions::Numbering::kSequencer:
                               break;
                           }
                           return std::string("BySequencer");
                         });

// The gap bug, provoked with the new protocol: transaction A inserts its event and stays open;
// B appends meanwhile. B does not wait for A (they share nothing), and gets position 1; a reader
// sees B alone, never a position after one still to come; once A commits it is numbered next.
TEST_P(SequencedAppends, AnAppendDoesNotWaitForAnUncommittedOneAndReadersSkipNothing) {
  auto store = OpenStore(Options());
  ASSERT_TRUE(store);
  auto a = Connect(url_);
  ASSERT_TRUE(a->Exec("BEGIN").ok());
  ASSERT_TRUE(InsertUnnumbered(*a, "slow", 1).ok());

  EventData e = Event("{}");
  auto b =
      std::async(std::launch::async, [&] { return store->Append("fast", ExpectedVersion::Any(), std::span(&e, 1)); });
  ASSERT_EQ(b.wait_for(30s), std::future_status::ready) << "an append waited for another transaction";
  auto r = b.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_position, Position(1));
  auto seen = store->ReadAll(Position(1), 10);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->front().stream, "fast");

  ASSERT_TRUE(a->Exec("COMMIT").ok());
  ASSERT_TRUE(store->WaitForPosition(Position(2), Clock::now() + 30s)) << "a committed event was never numbered";
  seen = store->ReadAll(Position(1), 10);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[1].stream, "slow");
  EXPECT_EQ((*seen)[1].position, Position(2));
  auto chain = VerifyPostgresChain(*store);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->problem);
  EXPECT_EQ(chain->records, 2u);
}

// Fencing: while the sequencer's batch is held up, the epoch moves (as when another leader takes
// over). The stale batch must write nothing; the sequencer steps down, leads again under a new
// epoch, and numbers the append then.
TEST(PostgresSequencer, ADeposedLeaderNumbersNothing) {
  const std::string url = testing::FreshPostgresDatabase();
  PostgresStoreOptions o{url};
  o.numbering = PostgresStoreOptions::Numbering::kSequencer;  // only the sequencer numbers
  auto store = OpenStore(o);
  ASSERT_TRUE(store);
  EventData first = Event("1");
  ASSERT_TRUE(store->Append("s", ExpectedVersion::Any(), std::span(&first, 1)).ok());  // it leads now
  auto h = Connect(url);
  const std::int64_t epoch = Scalar(*h, "SELECT epoch FROM log_head");
  ASSERT_GE(epoch, 1);

  ASSERT_TRUE(h->Exec("BEGIN").ok());
  ASSERT_TRUE(h->Exec("SELECT epoch FROM log_head WHERE id = 1 FOR UPDATE").ok());  // hold the batch up
  EventData second = Event("2");
  auto appended =
      std::async(std::launch::async, [&] { return store->Append("s", ExpectedVersion::Any(), std::span(&second, 1)); });
  auto watch = Connect(url);
  ASSERT_TRUE(Eventually(*watch, "SELECT count(*) FROM events WHERE position IS NULL", 1));
  EXPECT_EQ(appended.wait_for(200ms), std::future_status::timeout);
  ASSERT_TRUE(h->Exec("UPDATE log_head SET epoch = epoch + 1 WHERE id = 1").ok());
  ASSERT_TRUE(h->Exec("COMMIT").ok());

  ASSERT_EQ(appended.wait_for(30s), std::future_status::ready);
  auto r = appended.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_position, Position(2));
  // Ours, then the sequencer's new term: it did not number under the stale one.
  EXPECT_EQ(Scalar(*watch, "SELECT epoch FROM log_head"), epoch + 2);
  auto chain = VerifyPostgresChain(*store);
  ASSERT_TRUE(chain.ok());
  EXPECT_FALSE(chain->problem);
  EXPECT_EQ(chain->records, 2u);
}

// A database written by the row-lock design (schema version 2, positions assigned in the append
// transaction) is migrated at open; its chain still verifies, and appends continue after it.
TEST(PostgresSequencer, ADatabaseOfTheRowLockSchemaIsMigratedAndKeepsItsChain) {
  const std::string url = testing::FreshPostgresDatabase();
  auto c = Connect(url);
  ASSERT_TRUE(pg::Migrate(*c, kEventStoreComponent, EventStoreMigrations().first(2)).ok());
  Sha256Digest chain{};
  std::vector<Uuid> old_ids;
  for (std::uint64_t p = 1; p <= 5; ++p) {
    RecordedEvent e;
    e.position = Position(p);
    e.stream = "old-" + std::to_string(p % 2);
    e.version = StreamVersion((p + 1) / 2);
    e.event_id = Uuid::V7();
    e.type = "Happened";
    e.schema_version = 1;
    e.timestamp_us = 1'700'000'000'000'000 + static_cast<std::int64_t>(p);
    e.payload = "{\"p\":" + std::to_string(p) + "}";
    chain = PostgresChainHash(chain, e);
    old_ids.push_back(e.event_id);
    const std::string hash = std::string(reinterpret_cast<const char*>(chain.data()), chain.size());
    ASSERT_TRUE(c->Query("INSERT INTO events VALUES ($1, $2, $3, $4, 'Happened', 1, $5, $6, $6, '', $7, $8)",
                         {pg::Param::Int(static_cast<std::int64_t>(p)), pg::Param::Text(e.stream),
                          pg::Param::Int(static_cast<std::int64_t>(e.version.value())),
                          pg::Param::Text(e.event_id.ToString()), pg::Param::Int(e.timestamp_us),
                          pg::Param::Text(Uuid::Nil().ToString()), pg::Param::Bytes(e.payload), pg::Param::Bytes(hash)})
                    .ok());
    ASSERT_TRUE(c->Query("UPDATE log_head SET position = $1, hash = $2",
                         {pg::Param::Int(static_cast<std::int64_t>(p)), pg::Param::Bytes(hash)})
                    .ok());
  }

  auto store = OpenStore({url});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Head(), Position(5));
  EXPECT_EQ(store->GetStreamVersion("old-1").value(), StreamVersion(3));
  for (int i = 0; i < 3; ++i) {
    EventData e = Event("{}");
    auto r = store->Append("old-1", ExpectedVersion::Exact(StreamVersion(3 + i)), std::span(&e, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->last_position, Position(6 + i));
  }
  // A retry of an event stored before the migration is still recognized.
  EventData again = Event("{\"p\":1}");
  again.event_id = old_ids[0];
  auto replay = store->Append("old-1", ExpectedVersion::Any(), std::span(&again, 1));
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_TRUE(replay->idempotent_replay);
  EXPECT_EQ(replay->first_position, Position(1));
  auto verified = VerifyPostgresChain(*store);
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified->problem) << verified->problem->reason;
  EXPECT_EQ(verified->records, 8u);
}

// The analyst's view (docs/architecture.md): payload and metadata as jsonb where they parse.
TEST(PostgresSequencer, EventsAreQueryableAsJsonFromSql) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore({url});
  ASSERT_TRUE(store);
  std::vector<EventData> events = {
      Event(R"({"retailer":"r1","ad":{"title":"Winter boots","category":"apparel","bid_cents":120}})",
            R"({"body_sha256":"ab12"})"),
      Event(R"({"retailer":"r1","ad":{"title":"Espresso","category":"food","bid_cents":80}})"),
      Event(R"({"retailer":"r2","ad":{"title":"Scarf","category":"apparel","bid_cents":60}})"),
      Event(std::string("\x00\xff not json", 11)),
  };
  for (auto& e : events) e.type = "AdSubmitted";
  events[3].type = "Opaque";
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(store->Append("ad-" + std::to_string(i), ExpectedVersion::NoStream(), std::span(&events[i], 1)).ok());
  }
  auto c = Connect(url);
  auto rows = c->Query(
      "SELECT payload->'ad'->>'category' AS category, count(*) AS ads, sum((payload->'ad'->>'bid_cents')::int) AS "
      "bids FROM events_json WHERE type = 'AdSubmitted' AND recorded_at > now() - interval '1 day' "
      "GROUP BY 1 ORDER BY 2 DESC, 1");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2);
  EXPECT_EQ(rows->Text(0, 0), "apparel");
  EXPECT_EQ(rows->Int(0, 1), 2);
  EXPECT_EQ(rows->Int(0, 2), 180);
  EXPECT_EQ(rows->Text(1, 0), "food");
  EXPECT_EQ(Scalar(*c, "SELECT count(*) FROM events_json WHERE metadata->>'body_sha256' = 'ab12'"), 1);
  // Not JSON: NULL as jsonb, the bytes still there.
  EXPECT_EQ(Scalar(*c,
                   "SELECT count(*) FROM events_json WHERE type = 'Opaque' AND payload IS NULL AND "
                   "octet_length(payload_bytes) = 11"),
            1);
}

// GetStreamVersion says when it cannot tell, instead of waiting for the server or answering 0.
TEST(PostgresSequencer, GetStreamVersionReportsAnErrorWhenTheDatabaseIsGone) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore({url});
  ASSERT_TRUE(store);
  EventData e = Event("{}");
  ASSERT_TRUE(store->Append("s", ExpectedVersion::Any(), std::span(&e, 1)).ok());
  ASSERT_EQ(store->GetStreamVersion("s").value(), StreamVersion(1));
  auto admin = Connect(testing::TestPostgresUrl());
  ASSERT_TRUE(admin->Exec("DROP DATABASE " + url.substr(url.rfind('/') + 1) + " WITH (FORCE)").ok());
  auto v = store->GetStreamVersion("s");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable) << v.status().ToString();
}

}  // namespace
}  // namespace cqrs
