// The PostgreSQL store against the EventStore contract, and what is particular to it: the global
// order has no gaps even when transactions commit out of order, several processes (here: store
// instances) append to one database, the hash chain, schema migrations.
#include "cqrs/store/postgres/store.h"

#include <future>

#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/snapshot/postgres_snapshot_store.h"
#include "cqrs/store/event_store_contract.h"
#include "cqrs/store/postgres/schema.h"
#include "cqrs/store/postgres/verify.h"
#include "cqrs/store/testing/dcb_contract.h"

namespace cqrs {
namespace {

class PostgresStorage : public Storage {
 public:
  std::unique_ptr<EventStore> Open() override {
    auto s = OpenPostgresEventStore({url_});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<SnapshotStore> OpenSnapshots() override {
    auto s = OpenPostgresSnapshotStore(url_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  const std::string& url() const { return url_; }

 private:
  std::string url_ = testing::FreshPostgresDatabase();
};

INSTANTIATE_TEST_SUITE_P(Postgres, EventStoreContract,
                         ::testing::Values(StorageFactory([] { return std::make_unique<PostgresStorage>(); })),
                         [](const auto&) { return std::string("Db"); });

std::unique_ptr<pg::Connection> Connect(const std::string& url) {
  auto c = pg::Connection::Open(url);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(*c);
}

// The gap bug, provoked: transaction A takes position 1 under the log_head row lock (as a
// numbering transaction does) and stays open; B appends meanwhile and would take position 2. A
// reader of the global order must not see 2 before 1 is committed, since it would move its
// checkpoint past 1 and never read it. Numbering happens under the log_head row lock, so B's
// event cannot even be numbered until A commits. (sequencer_test.cc holds an append
// transaction open instead.)
TEST(PostgresStore, ReadersNeverSeeALaterPositionBeforeAnEarlierOneCommits) {
  PostgresStorage storage;
  auto store = storage.Open();
  ASSERT_TRUE(store);
  auto a = Connect(storage.url());
  // A: a numbering transaction by hand, held open before its commit.
  ASSERT_TRUE(a->Exec("BEGIN").ok());
  auto head = a->Query("SELECT position FROM log_head WHERE id = 1 FOR UPDATE");
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->Int(0, 0), 0);
  ASSERT_TRUE(a->Exec("INSERT INTO events VALUES (1, 'slow', 1, '" + Uuid::V7().ToString() + "', 'Happened', 1, 1, '" +
                      Uuid::Nil().ToString() + "', '" + Uuid::Nil().ToString() + "', '', '{}', '\\x00')")
                  .ok());
  ASSERT_TRUE(a->Exec("UPDATE log_head SET position = 1 WHERE id = 1").ok());

  // B: a normal append, concurrently. It must wait for A.
  EventData e;
  e.event_id = Uuid::V7();
  e.type = "Happened";
  e.payload = "{}";
  auto b =
      std::async(std::launch::async, [&] { return store->Append("fast", ExpectedVersion::Any(), std::span(&e, 1)); });
  // While A is open, B is not done, and a reader sees nothing at all: not position 2.
  EXPECT_EQ(b.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto seen = store->ReadAll(Position(1), 10);
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->empty());

  ASSERT_TRUE(a->Exec("COMMIT").ok());  // A commits last: B gets the next position
  auto r = b.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_position, Position(2));
  seen = store->ReadAll(Position(1), 10);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[0].stream, "slow");
  EXPECT_EQ((*seen)[1].stream, "fast");
}

// Many appenders in several "processes" (store instances, each with its own writer and
// connections) and a reader that follows the global order all along: the reader sees every
// position exactly once, in order, with no gap, and its head keeps up through LISTEN/NOTIFY.
TEST(PostgresStore, ConcurrentWritersInSeveralProcessesLeaveAGapFreeOrder) {
  PostgresStorage storage;
  auto reader = storage.Open();
  std::vector<std::unique_ptr<EventStore>> writers;
  for (int i = 0; i < 3; ++i) writers.push_back(storage.Open());
  constexpr int kThreads = 4, kPerThread = 150;
  std::mutex mu;
  std::vector<std::uint64_t> delivered;
  auto sub = reader->Subscribe(Position(1), 64, [&](std::span<const RecordedEvent> batch) {
    std::lock_guard lock(mu);
    for (const auto& e : batch) delivered.push_back(e.position.value());
    return Status::Ok();
  });
  ASSERT_TRUE(sub.ok());
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < writers.size(); ++w) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, w, t] {
        for (int i = 0; i < kPerThread; ++i) {
          EventData e;
          e.event_id = Uuid::V7();
          e.type = "Happened";
          e.payload = std::to_string(i);
          auto r = writers[w]->Append("w" + std::to_string(w) + "t" + std::to_string(t), ExpectedVersion::Any(),
                                      std::span(&e, 1));
          ASSERT_TRUE(r.ok()) << r.status().ToString();
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  const std::uint64_t total = writers.size() * kThreads * kPerThread;
  ASSERT_TRUE(reader->WaitForPosition(Position(total), std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (delivered.size() >= total) break;
    }
    reader->WaitForPosition(Position(total + 1), std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(delivered.size(), total);
  for (std::uint64_t i = 0; i < total; ++i) ASSERT_EQ(delivered[i], i + 1);
}

// A blocking append may commit on its own thread with writer 0's connection (when it is alone and
// writer 0 idle) while asynchronous appends queue for writer 0: the two never share the
// connection, nothing queued behind a caller is left, and closing the store answers everything.
TEST(PostgresStore, BlockingAppendsOnTheCallersThreadAndQueuedOnesMixAndCloseAnswersAll) {
  PostgresStorage storage;
  auto store = storage.Open();
  ASSERT_NE(store, nullptr);
  auto event = [](int i) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = "Happened";
    e.payload = std::to_string(i);
    return e;
  };
  constexpr int kBlocking = 300, kAsync = 300;
  std::atomic<int> answered{0}, failed{0};
  std::thread blocking([&] {  // alone most of the time: the caller's way
    for (int i = 0; i < kBlocking; ++i) {
      EventData e = event(i);
      auto r = store->Append("blocking", ExpectedVersion::Exact(StreamVersion(i)), std::span(&e, 1));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_GT(r->first_position.value(), 0u);
    }
  });
  for (int i = 0; i < kAsync; ++i) {
    EventData e = event(i);
    store->AppendAsync("async-" + std::to_string(i % 7), ExpectedVersion::Any(), std::span(&e, 1),
                       [&](Result<AppendResult> r) {
                         if (!r.ok()) failed.fetch_add(1);
                         answered.fetch_add(1);
                       });
  }
  blocking.join();
  store.reset();  // with asynchronous appends possibly still queued: each is answered
  EXPECT_EQ(answered.load(), kAsync);
  EXPECT_EQ(failed.load(), 0);
  auto reader = storage.Open();
  auto all = reader->ReadAll(Position(1), 10 * (kBlocking + kAsync));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kBlocking + kAsync));
  for (std::size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].position.value(), i + 1);
}

TEST(PostgresStore, EveryRowCarriesTheHashChain) {
  PostgresStorage storage;
  auto store = storage.Open();
  for (int i = 0; i < 20; ++i) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = "Happened";
    e.payload = std::to_string(i);
    ASSERT_TRUE(store->Append("s" + std::to_string(i % 3), ExpectedVersion::Any(), std::span(&e, 1)).ok());
  }
  auto all = store->ReadAll(Position(1), 100);
  ASSERT_TRUE(all.ok());
  Sha256Digest chain{};
  for (const RecordedEvent& e : *all) {
    chain = PostgresChainHash(chain, e);
    EXPECT_EQ(e.hash, chain) << "at position " << e.position.value();
  }
  auto intact = VerifyPostgresChain(*store);
  ASSERT_TRUE(intact.ok());
  EXPECT_EQ(intact->records, 20u);
  EXPECT_FALSE(intact->problem);
  EXPECT_EQ(intact->head_hash, chain);
  // Tampering with one payload is found at its position; so is a row removed by hand.
  auto c = Connect(storage.url());
  ASSERT_TRUE(c->Exec("UPDATE events SET payload = '\\x7878' WHERE position = 7").ok());
  auto tampered = VerifyPostgresChain(*store);
  ASSERT_TRUE(tampered.ok() && tampered->problem);
  EXPECT_EQ(tampered->problem->position, Position(7));
  ASSERT_TRUE(c->Exec("DELETE FROM events WHERE position = 3").ok());
  auto removed = VerifyPostgresChain(*store);
  ASSERT_TRUE(removed.ok() && removed->problem);
  EXPECT_EQ(removed->problem->position, Position(3));
  EXPECT_NE(removed->problem->reason.find("missing"), std::string::npos);
}

TEST(PostgresStore, MigrationsAreRecordedAndANewerSchemaIsRefused) {
  PostgresStorage storage;
  auto store = storage.Open();
  auto again = storage.Open();  // a second start applies nothing twice
  ASSERT_TRUE(again);
  auto c = Connect(storage.url());
  auto rows = c->Query("SELECT version FROM schema_migrations WHERE component = 'event_store' ORDER BY version");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<int>(EventStoreMigrations().size()));
  ASSERT_TRUE(c->Exec("INSERT INTO schema_migrations (component, version, description) "
                      "VALUES ('event_store', 99, 'from the future')")
                  .ok());
  auto refused = OpenPostgresEventStore({storage.url()});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("newer than this program"), std::string::npos);
}

TEST(PostgresStore, ProcessesStartingTogetherMigrateOnce) {
  const std::string url = testing::FreshPostgresDatabase();
  std::vector<std::future<Result<std::unique_ptr<EventStore>>>> starting;
  for (int i = 0; i < 6; ++i) {
    starting.push_back(std::async(std::launch::async, [&] { return OpenPostgresEventStore({url}); }));
  }
  for (auto& s : starting) {
    auto store = s.get();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
  }
  auto c = Connect(url);
  auto rows = c->Query("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->Int(0, 0), static_cast<std::int64_t>(EventStoreMigrations().size()));
}

// A read-only store (what a read process opens) reads and follows the head, and refuses appends
// without touching the database.
TEST(PostgresStore, AReadOnlyStoreReadsAndFollowsTheHeadAndRefusesAppends) {
  PostgresStorage storage;
  auto writer = storage.Open();
  ASSERT_TRUE(writer);
  PostgresStoreOptions o{storage.url()};
  o.read_only = true;
  auto reader = OpenPostgresEventStore(o);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EventData e;
  e.event_id = Uuid::V7();
  e.type = "Happened";
  e.payload = "{}";
  auto refused = (*reader)->Append("s", ExpectedVersion::Any(), std::span(&e, 1));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  auto appended = writer->Append("s", ExpectedVersion::Any(), std::span(&e, 1));
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  EXPECT_EQ(appended->last_position.value(), 1u);  // the refused append wrote nothing
  ASSERT_TRUE((*reader)->WaitForPosition(Position(1), std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  auto read = (*reader)->ReadAll(Position(1), 10);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ(read->front().event_id, e.event_id);
}

}  // namespace
}  // namespace cqrs
