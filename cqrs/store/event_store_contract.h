// The EventStore contract (event_store.h) as tests that every backend passes: a test binary per
// backend includes this file and instantiates EventStoreContract with a factory of its storage.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/snapshot/aggregate.h"
#include "cqrs/store/event_store.h"
#include "cqrs/store/upcasting_store.h"

namespace cqrs {
namespace {

using namespace std::chrono_literals;

// One backend's storage for one test: Open() may be called again to reopen the same data.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::unique_ptr<EventStore> Open() = 0;
  // The backend's snapshot store (cqrs/snapshot), on the same storage; may be opened again.
  virtual std::unique_ptr<SnapshotStore> OpenSnapshots() = 0;
};
using StorageFactory = std::function<std::unique_ptr<Storage>()>;

class EventStoreContract : public ::testing::TestWithParam<StorageFactory> {};
using TempDir = std::unique_ptr<Storage>;

EventData Event(std::string payload = "{}", std::string type = "Happened") {
  EventData e;
  e.event_id = Uuid::V7();
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

std::unique_ptr<EventStore> Open(const TempDir& dir) { return dir->Open(); }

Result<AppendResult> AppendOne(EventStore& s, const std::string& stream, ExpectedVersion ev, const EventData& e) {
  return s.Append(stream, ev, std::span(&e, 1));
}

TEST_P(EventStoreContract, EveryFieldRoundTripsThroughStreamAndGlobalReadsAndReopen) {
  TempDir dir = GetParam()();
  EventData e = Event("{\"title\":\"boots\"}", "AdSubmitted");
  e.schema_version = 2;
  e.metadata = "{\"ip\":\"1.2.3.4\"}";
  e.correlation_id = Uuid::V7();
  e.causation_id = Uuid::V7();
  e.timestamp_us = 1'700'000'000'000'000;
  {
    auto s = Open(dir);
    auto r = AppendOne(*s, "ad-1", ExpectedVersion::NoStream(), e);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first_version, StreamVersion(1));
    EXPECT_EQ(r->last_position, Position(1));
    EXPECT_FALSE(r->idempotent_replay);
  }
  auto s = Open(dir);
  for (const auto& read : {s->ReadStream("ad-1", StreamVersion(1), 10), s->ReadAll(Position(1), 10)}) {
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(read->size(), 1u);
    const RecordedEvent& got = read->front();
    EXPECT_EQ(got.event_id, e.event_id);
    EXPECT_EQ(got.stream, "ad-1");
    EXPECT_EQ(got.version, StreamVersion(1));
    EXPECT_EQ(got.position, Position(1));
    EXPECT_EQ(got.type, "AdSubmitted");
    EXPECT_EQ(got.schema_version, 2u);
    EXPECT_EQ(got.timestamp_us, e.timestamp_us);
    EXPECT_EQ(got.correlation_id, e.correlation_id);
    EXPECT_EQ(got.causation_id, e.causation_id);
    EXPECT_EQ(got.metadata, e.metadata);
    EXPECT_EQ(got.payload, e.payload);
  }
  EXPECT_EQ(s->GetStreamVersion("ad-1").value(), StreamVersion(1));
  EXPECT_EQ(s->GetStreamVersion("ad-2").value(), StreamVersion(0));
  EXPECT_TRUE(s->ReadStream("ad-2", StreamVersion(1), 10)->empty());
}

TEST_P(EventStoreContract, StoreStampsTheTimeWhenTheCallerDoesNot) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Event()).ok());
  EXPECT_GT(s->ReadAll(Position(1), 1)->front().timestamp_us, 1'700'000'000'000'000);
}

TEST_P(EventStoreContract, StreamIndexIsRebuiltOnOpen) {
  TempDir dir = GetParam()();
  {
    auto s = Open(dir);
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(AppendOne(*s, "s" + std::to_string(i % 3), ExpectedVersion::Any(), Event(std::to_string(i))).ok());
    }
  }
  auto s = Open(dir);
  EXPECT_EQ(s->Head(), Position(30));
  EXPECT_EQ(s->GetStreamVersion("s1").value(), StreamVersion(10));
  auto tail = s->ReadStream("s1", StreamVersion(4), 3);
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ((*tail)[0].version, StreamVersion(4));
  EXPECT_EQ((*tail)[0].payload, "10");  // s1 holds 1, 4, 7, 10, …
  EXPECT_EQ((*tail)[2].payload, "16");
  // And appends continue with exact versions.
  EXPECT_TRUE(AppendOne(*s, "s1", ExpectedVersion::Exact(StreamVersion(10)), Event()).ok());
}

struct MatrixCase {
  ExpectedVersion expected;
  bool on_existing;  // stream holds 2 events, else it does not exist
  bool succeeds;
};

TEST_P(EventStoreContract, ExpectedVersionMatrix) {
  const std::vector<MatrixCase> cases = {
      {ExpectedVersion::Any(), false, true},
      {ExpectedVersion::Any(), true, true},
      {ExpectedVersion::NoStream(), false, true},
      {ExpectedVersion::NoStream(), true, false},
      {ExpectedVersion::Exists(), false, false},
      {ExpectedVersion::Exists(), true, true},
      {ExpectedVersion::Exact(StreamVersion(0)), false, true},
      {ExpectedVersion::Exact(StreamVersion(0)), true, false},
      {ExpectedVersion::Exact(StreamVersion(2)), true, true},
      {ExpectedVersion::Exact(StreamVersion(1)), true, false},
      {ExpectedVersion::Exact(StreamVersion(3)), true, false},
      {ExpectedVersion::Exact(StreamVersion(2)), false, false},
  };
  for (const MatrixCase& c : cases) {
    TempDir dir = GetParam()();
    auto s = Open(dir);
    if (c.on_existing) {
      ASSERT_TRUE(AppendOne(*s, "x", ExpectedVersion::NoStream(), Event()).ok());
      ASSERT_TRUE(AppendOne(*s, "x", ExpectedVersion::Exact(StreamVersion(1)), Event()).ok());
    }
    const Position head = s->Head();
    auto r = AppendOne(*s, "x", c.expected, Event());
    const std::string what = c.expected.ToString() + (c.on_existing ? " on existing" : " on missing");
    if (c.succeeds) {
      ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
      EXPECT_EQ(r->last_version, StreamVersion(c.on_existing ? 3 : 1)) << what;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kVersionConflict) << what;
      EXPECT_EQ(s->Head(), head) << what << ": a conflict must write nothing";
      EXPECT_EQ(s->GetStreamVersion("x").value(), StreamVersion(c.on_existing ? 2 : 0)) << what;
    }
  }
}

TEST_P(EventStoreContract, ReappendingTheSameEventsIsIdempotent) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  std::vector<EventData> batch{Event("a"), Event("b")};
  auto first = s->Append("ad-9", ExpectedVersion::NoStream(), batch);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(AppendOne(*s, "ad-9", ExpectedVersion::Exact(StreamVersion(2)), Event("c")).ok());
  const Position head = s->Head();

  for (ExpectedVersion ev : {ExpectedVersion::NoStream(), ExpectedVersion::Exact(StreamVersion(0)),
                             ExpectedVersion::Any(), ExpectedVersion::Exists()}) {
    auto again = s->Append("ad-9", ev, batch);
    ASSERT_TRUE(again.ok()) << ev.ToString() << ": " << again.status().ToString();
    EXPECT_TRUE(again->idempotent_replay);
    EXPECT_EQ(again->first_version, StreamVersion(1));
    EXPECT_EQ(again->last_version, StreamVersion(2));
    EXPECT_EQ(again->first_position, first->first_position);
    EXPECT_EQ(again->last_position, first->last_position);
  }
  EXPECT_EQ(s->Head(), head) << "a retry writes nothing";

  std::vector<EventData> reordered{batch[1], batch[0]};
  EXPECT_EQ(s->Append("ad-9", ExpectedVersion::Any(), reordered).status().code(), StatusCode::kAlreadyExists);
  std::vector<EventData> extra{batch[0], batch[1], Event("d")};
  EXPECT_EQ(s->Append("ad-9", ExpectedVersion::NoStream(), extra).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s->Head(), head);
}

TEST_P(EventStoreContract, AReplayCarriesWhatTheFirstAppendStored) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  EventData e = Event("a");
  e.metadata = R"({"request":"first"})";
  e.timestamp_us = 1'700'000'000'000'000;
  ASSERT_TRUE(AppendOne(*s, "ad-7", ExpectedVersion::NoStream(), e).ok());
  EXPECT_FALSE(AppendOne(*s, "ad-8", ExpectedVersion::NoStream(), Event("b"))->original.has_value())
      << "only a replay says what was stored before";

  // The retry carries other metadata and another time: the result tells what was stored.
  EventData retry = e;
  retry.metadata = R"({"request":"second"})";
  retry.timestamp_us = 0;
  auto again = AppendOne(*s, "ad-7", ExpectedVersion::NoStream(), retry);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(again->idempotent_replay);
  ASSERT_TRUE(again->original.has_value());
  EXPECT_EQ(again->original->metadata, e.metadata);
  EXPECT_EQ(again->original->timestamp_us, e.timestamp_us);

  std::promise<Result<AppendResult>> done;
  s->AppendAsync("ad-7", ExpectedVersion::NoStream(), std::span(&retry, 1),
                 [&](Result<AppendResult> r) { done.set_value(std::move(r)); });
  auto async = done.get_future().get();
  ASSERT_TRUE(async.ok()) << async.status().ToString();
  ASSERT_TRUE(async->original.has_value());
  EXPECT_EQ(async->original->metadata, e.metadata);
}

TEST_P(EventStoreContract, IdempotencySurvivesReopen) {
  TempDir dir = GetParam()();
  EventData e = Event();
  Position pos;
  {
    auto s = Open(dir);
    pos = AppendOne(*s, "ad", ExpectedVersion::NoStream(), e)->last_position;
  }
  auto s = Open(dir);
  auto again = AppendOne(*s, "ad", ExpectedVersion::NoStream(), e);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->idempotent_replay);
  EXPECT_EQ(again->last_position, pos);
}

TEST_P(EventStoreContract, MalformedBatchesAreRejected) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  EXPECT_EQ(s->Append("a", ExpectedVersion::Any(), {}).status().code(), StatusCode::kInvalidArgument);
  EventData nil = Event();
  nil.event_id = Uuid::Nil();
  EXPECT_EQ(AppendOne(*s, "a", ExpectedVersion::Any(), nil).status().code(), StatusCode::kInvalidArgument);
  EventData e = Event();
  std::vector<EventData> dup{e, e};
  EXPECT_EQ(s->Append("a", ExpectedVersion::Any(), dup).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendOne(*s, "", ExpectedVersion::Any(), Event()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Head(), Position(0));
}

TEST_P(EventStoreContract, ConcurrentAppendsToManyStreamsLoseNothing) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  constexpr int kThreads = 8, kPerThread = 200, kStreams = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string stream = "s" + std::to_string((t * kPerThread + i) % kStreams);
        // Exact appends retry on conflict, as a command handler would.
        while (true) {
          const StreamVersion v = s->GetStreamVersion(stream).value();
          auto r = AppendOne(*s, stream, i % 2 ? ExpectedVersion::Exact(v) : ExpectedVersion::Any(),
                             Event(std::to_string(t) + ":" + std::to_string(i)));
          if (r.ok()) break;
          ASSERT_EQ(r.status().code(), StatusCode::kVersionConflict);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = s->ReadAll(Position(1), 1'000'000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::map<std::string, std::uint64_t> versions;
  std::set<std::string> payloads;
  for (std::size_t i = 0; i < all->size(); ++i) {
    const RecordedEvent& e = (*all)[i];
    EXPECT_EQ(e.position.value(), i + 1);
    EXPECT_EQ(e.version.value(), ++versions[e.stream]) << e.stream;
    payloads.insert(e.payload);
  }
  EXPECT_EQ(payloads.size(), all->size());
  for (const auto& [stream, v] : versions) EXPECT_EQ(s->GetStreamVersion(stream).value().value(), v);
}

TEST_P(EventStoreContract, RacingExactAppendsToOneStreamHaveOneWinnerPerVersion) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  constexpr int kThreads = 8, kVersions = 50;
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int v = 0; v < kVersions; ++v) {
        auto r = AppendOne(*s, "hot", ExpectedVersion::Exact(StreamVersion(v)), Event());
        if (r.ok()) {
          wins++;
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kVersionConflict);
          conflicts++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(s->GetStreamVersion("hot").value(), StreamVersion(kVersions));
  EXPECT_EQ(wins.load(), kVersions);
  EXPECT_EQ(wins + conflicts, kThreads * kVersions);
}

TEST_P(EventStoreContract, AppendAsyncReportsTheSameResultsAsAppend) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  constexpr int kCount = 500;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<AppendResult>> results;
  for (int i = 0; i < kCount; ++i) {
    EventData e = Event(std::to_string(i));
    s->AppendAsync("a" + std::to_string(i % 10), ExpectedVersion::Any(), std::span(&e, 1), [&](Result<AppendResult> r) {
      std::lock_guard lock(mu);
      results.push_back(std::move(r));
      cv.notify_all();
    });
  }
  EventData conflicting = Event();
  s->AppendAsync("a0", ExpectedVersion::NoStream(), std::span(&conflicting, 1), [&](Result<AppendResult> r) {
    std::lock_guard lock(mu);
    results.push_back(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return results.size() == kCount + 1; }));
  std::set<std::uint64_t> positions;
  int conflicts = 0;
  for (auto& r : results) {
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kVersionConflict);
      ++conflicts;
      continue;
    }
    EXPECT_LE(r->last_position, s->Head()) << "acknowledged before durable";
    positions.insert(r->last_position.value());
  }
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(positions.size(), static_cast<std::size_t>(kCount));
}

TEST_P(EventStoreContract, SubscriptionDeliversPastAndNewEventsInOrder) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(AppendOne(*s, "s", ExpectedVersion::Any(), Event(std::to_string(i))).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::uint64_t> seen;
  auto sub = s->Subscribe(Position(4), 3, [&](std::span<const RecordedEvent> batch) {
    EXPECT_LE(batch.size(), 3u);
    std::lock_guard lock(mu);
    for (const auto& e : batch) seen.push_back(e.position.value());
    cv.notify_all();
    return Status::Ok();
  });
  ASSERT_TRUE(sub.ok());
  for (int i = 11; i <= 25; ++i) ASSERT_TRUE(AppendOne(*s, "s", ExpectedVersion::Any(), Event(std::to_string(i))).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return seen.size() == 22; }));
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 4);
  EXPECT_TRUE((*sub)->status().ok());
}

TEST_P(EventStoreContract, HandlerErrorStopsTheSubscription) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendOne(*s, "s", ExpectedVersion::Any(), Event()).ok());
  std::atomic<int> calls{0};
  auto sub = s->Subscribe(Position(1), 1, [&](std::span<const RecordedEvent>) {
    return ++calls == 2 ? Internal("handler broke") : Status::Ok();
  });
  ASSERT_TRUE(sub.ok());
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((*sub)->status().ok() && std::chrono::steady_clock::now() < deadline) {
    s->WaitForPosition(Position(100), std::chrono::steady_clock::now() + 5ms);  // a bounded pause
  }
  EXPECT_EQ((*sub)->status().code(), StatusCode::kInternal);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(EventStoreContract, WaitForPositionWakesOnAppendAndTimesOut) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  EXPECT_FALSE(s->WaitForPosition(Position(1), std::chrono::steady_clock::now() + 10ms));
  std::thread appender([&] { ASSERT_TRUE(AppendOne(*s, "s", ExpectedVersion::Any(), Event()).ok()); });
  EXPECT_TRUE(s->WaitForPosition(Position(1), std::chrono::steady_clock::now() + 30s));
  appender.join();
}

// Upcasters (upcasting_store.h): old schemas are rewritten on every read path, the stored events
// stay as written.
TEST_P(EventStoreContract, UpcastersRewriteOldSchemasOnEveryReadAndLeaveTheStoreAlone) {
  TempDir dir = GetParam()();
  Upcasters upcasters;
  // v1 "Deposited" carried cents; v2 carries "cents:CURRENCY"; v3 was renamed "MoneyDeposited".
  upcasters
      .Add("Deposited", 1,
           [](RecordedEvent& e) {
             e.payload += ":USD";
             e.schema_version = 2;
             return Status::Ok();
           })
      .Add("Deposited", 2, [](RecordedEvent& e) {
        e.type = "MoneyDeposited";
        e.schema_version = 3;
        return Status::Ok();
      });
  auto s = WithUpcasters(Open(dir), upcasters);
  EventData v1 = Event("100", "Deposited");
  EventData v2 = Event("7:EUR", "Deposited");
  v2.schema_version = 2;
  EventData other = Event("x", "Withdrawn");
  for (const EventData* e : {&v1, &v2, &other}) ASSERT_TRUE(AppendOne(*s, "acct", ExpectedVersion::Any(), *e).ok());

  auto check = [](const std::vector<RecordedEvent>& got) {
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].type, "MoneyDeposited");
    EXPECT_EQ(got[0].schema_version, 3u);
    EXPECT_EQ(got[0].payload, "100:USD");
    EXPECT_EQ(got[1].type, "MoneyDeposited");
    EXPECT_EQ(got[1].payload, "7:EUR");
    EXPECT_EQ(got[2].type, "Withdrawn");  // no upcaster: as stored
    EXPECT_EQ(got[2].schema_version, 1u);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].version, StreamVersion(i + 1));
  };
  auto by_stream = s->ReadStream("acct", StreamVersion(1), 10);
  ASSERT_TRUE(by_stream.ok());
  check(*by_stream);
  auto all = s->ReadAll(Position(1), 10);
  ASSERT_TRUE(all.ok());
  check(*all);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<RecordedEvent> delivered;
  auto sub = s->Subscribe(Position(1), 2, [&](std::span<const RecordedEvent> batch) {
    std::lock_guard lock(mu);
    delivered.insert(delivered.end(), batch.begin(), batch.end());
    cv.notify_all();
    return Status::Ok();
  });
  ASSERT_TRUE(sub.ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return delivered.size() == 3; }));
    check(delivered);
  }
  sub->reset();
  s.reset();

  auto raw = Open(dir)->ReadStream("acct", StreamVersion(1), 10);  // the store, without upcasters
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 3u);
  EXPECT_EQ((*raw)[0].type, "Deposited");
  EXPECT_EQ((*raw)[0].schema_version, 1u);
  EXPECT_EQ((*raw)[0].payload, "100");
}

TEST_P(EventStoreContract, AFailingUpcasterFailsTheReadInsteadOfPassingOldData) {
  TempDir dir = GetParam()();
  Upcasters upcasters;
  upcasters.Add("Deposited", 1, [](RecordedEvent&) { return InvalidArgument("unreadable v1 payload"); });
  upcasters.Add("Stuck", 1, [](RecordedEvent&) { return Status::Ok(); });  // forgets to raise the version
  auto s = WithUpcasters(Open(dir), upcasters);
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Event("1", "Deposited")).ok());
  ASSERT_TRUE(AppendOne(*s, "b", ExpectedVersion::Any(), Event("1", "Stuck")).ok());
  EXPECT_EQ(s->ReadStream("a", StreamVersion(1), 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->ReadStream("b", StreamVersion(1), 10).status().code(), StatusCode::kInternal);
  EXPECT_FALSE(s->ReadAll(Position(1), 10).ok());
}

// Snapshots (cqrs/snapshot): the backend's snapshot store, and aggregates loaded from it.
TEST_P(EventStoreContract, SnapshotsKeepTheLatestPerStreamAndSurviveReopen) {
  TempDir dir = GetParam()();
  const std::string bytes("state\0with\xff bytes", 17);
  {
    auto snapshots = dir->OpenSnapshots();
    ASSERT_NE(snapshots, nullptr);
    auto none = snapshots->Load("account-1");
    ASSERT_TRUE(none.ok()) << none.status().ToString();
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(snapshots->Save({.stream = "account-1", .version = StreamVersion(3), .state = "three"}).ok());
    // An older snapshot (a slow saver) never replaces a newer one.
    ASSERT_TRUE(snapshots->Save({.stream = "account-1", .version = StreamVersion(2), .state = "two"}).ok());
    auto got = snapshots->Load("account-1");
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->version, StreamVersion(3));
    EXPECT_EQ((*got)->state, "three");
    ASSERT_TRUE(
        snapshots->Save({.stream = "account-1", .version = StreamVersion(5), .schema_version = 2, .state = bytes})
            .ok());
  }
  auto snapshots = dir->OpenSnapshots();
  auto got = snapshots->Load("account-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->stream, "account-1");
  EXPECT_EQ((*got)->version, StreamVersion(5));
  EXPECT_EQ((*got)->schema_version, 2u);
  EXPECT_EQ((*got)->state, bytes);
  auto other = snapshots->Load("account-2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

struct Tally {
  std::int64_t sum = 0;
  std::int64_t count = 0;
  bool operator==(const Tally&) const = default;
};

AggregateCodec<Tally> TallyCodec(std::uint32_t schema_version = 1) {
  return {
      .schema_version = schema_version,
      .serialize = [](const Tally& t) { return std::to_string(t.sum) + "," + std::to_string(t.count); },
      .deserialize = [](std::string_view text) -> Result<Tally> {
        const auto comma = text.find(',');
        if (comma == std::string_view::npos) return InvalidArgument("not a tally");
        return Tally{std::stoll(std::string(text.substr(0, comma))), std::stoll(std::string(text.substr(comma + 1)))};
      },
      .apply =
          [](Tally& t, const RecordedEvent& e) {
            t.sum += std::stoll(e.payload);
            ++t.count;
          }};
}

TEST_P(EventStoreContract, AnAggregateLoadsFromItsSnapshotPlusTheTailAndEqualsAFullReplay) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  auto snapshots = dir->OpenSnapshots();
  const auto codec = TallyCodec();
  for (int i = 1; i <= 10; ++i)
    ASSERT_TRUE(AppendOne(*s, "tally", ExpectedVersion::Any(), Event(std::to_string(i))).ok());

  auto first = LoadAggregate(*s, snapshots.get(), "tally", codec, 4);  // paged: 4 + 4 + 2
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->snapshot_version, StreamVersion(0));
  EXPECT_EQ(first->events_replayed, 10u);
  EXPECT_EQ(first->version, StreamVersion(10));
  EXPECT_EQ(first->state, (Tally{55, 10}));
  ASSERT_TRUE(SaveSnapshot(*snapshots, "tally", *first, codec).ok());

  for (int i = 11; i <= 13; ++i)
    ASSERT_TRUE(AppendOne(*s, "tally", ExpectedVersion::Any(), Event(std::to_string(i))).ok());
  auto from_snapshot = LoadAggregate(*s, snapshots.get(), "tally", codec);
  ASSERT_TRUE(from_snapshot.ok());
  EXPECT_EQ(from_snapshot->snapshot_version, StreamVersion(10));
  EXPECT_EQ(from_snapshot->events_replayed, 3u);
  EXPECT_EQ(from_snapshot->version, StreamVersion(13));
  auto full = LoadAggregate<Tally>(*s, nullptr, "tally", codec);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->events_replayed, 13u);
  EXPECT_EQ(from_snapshot->state, full->state);

  // The state's format changed (schema 2): the old snapshot is ignored, the stream replayed.
  auto reformatted = LoadAggregate(*s, snapshots.get(), "tally", TallyCodec(2));
  ASSERT_TRUE(reformatted.ok());
  EXPECT_EQ(reformatted->snapshot_version, StreamVersion(0));
  EXPECT_EQ(reformatted->state, full->state);
  // A snapshot that does not deserialize is ignored too.
  ASSERT_TRUE(snapshots->Save({.stream = "tally", .version = StreamVersion(13), .state = "garbage"}).ok());
  auto damaged = LoadAggregate(*s, snapshots.get(), "tally", codec);
  ASSERT_TRUE(damaged.ok());
  EXPECT_EQ(damaged->events_replayed, 13u);
  EXPECT_EQ(damaged->state, full->state);
}

}  // namespace
}  // namespace cqrs
