// One batch through cqrs_append: each append is decided on the versions and ids as the appends
// before it in the same batch left them, whether the transaction numbers or not.
#include "cqrs/store/postgres/appender.h"

#include <gtest/gtest.h>

#include <set>

#include "cqrs/pg/migrations.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/schema.h"
#include "cqrs/store/postgres/store.h"
#include "cqrs/store/postgres/verify.h"

namespace cqrs {
namespace {

EventData Event(Uuid id) {
  EventData e;
  e.event_id = id;
  e.type = "Happened";
  e.payload = "{}";
  e.timestamp_us = 1;
  return e;
}

PendingAppend Append(std::string stream, ExpectedVersion expected, std::vector<EventData> events) {
  return PendingAppend{std::move(stream), expected, std::move(events), nullptr};
}

class OneBatch : public ::testing::TestWithParam<std::int64_t> {};

INSTANTIATE_TEST_SUITE_P(Numbering, OneBatch, ::testing::Values(0, -1),
                         [](const auto& p) { return std::string(p.param == 0 ? "Unnumbered" : "NumberedIfFree"); });

TEST_P(OneBatch, EachAppendIsDecidedAfterTheOnesBeforeIt) {
  const std::string url = testing::FreshPostgresDatabase();
  {
    auto c = pg::Connection::Open(url);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(pg::Migrate(**c, kEventStoreComponent, EventStoreMigrations()).ok());
  }
  const Uuid a1 = Uuid::V7(), a2 = Uuid::V7(), b1 = Uuid::V7(), c1 = Uuid::V7(), d1 = Uuid::V7();
  // Given in this order; the batch goes to the server sorted by stream, stably.
  const std::vector<PendingAppend> batch = {
      Append("s", ExpectedVersion::NoStream(), {Event(a1), Event(a2)}),    // s 1-2
      Append("t", ExpectedVersion::Exists(), {Event(d1)}),                 // t does not exist: conflict
      Append("s", ExpectedVersion::Exact(StreamVersion(2)), {Event(b1)}),  // follows it: s 3
      Append("s", ExpectedVersion::Exact(StreamVersion(2)), {Event(c1)}),  // s is at 3 now: conflict
      Append("s", ExpectedVersion::NoStream(), {Event(a1), Event(a2)}),    // a retry of the first: its result
      Append("u", ExpectedVersion::Any(), {Event(b1)}),                    // b1 is stored in s: already exists
      Append("u", ExpectedVersion::Any(), {Event(a2), Event(a1)}),         // the same ids, other order: exists
  };
  PgAppender appender(url);
  const AppendCommit commit = appender.Commit(batch, GetParam());
  ASSERT_EQ(commit.appends.size(), batch.size());
  ASSERT_TRUE(commit.appends[0].ok()) << commit.appends[0].status().ToString();
  EXPECT_EQ(commit.appends[0]->first_version.value(), 1u);
  EXPECT_FALSE(commit.appends[0]->idempotent_replay);
  EXPECT_EQ(commit.appends[1].status().code(), StatusCode::kVersionConflict);
  ASSERT_TRUE(commit.appends[2].ok()) << commit.appends[2].status().ToString();
  EXPECT_EQ(commit.appends[2]->first_version.value(), 3u);
  EXPECT_EQ(commit.appends[3].status().code(), StatusCode::kVersionConflict);
  ASSERT_TRUE(commit.appends[4].ok()) << commit.appends[4].status().ToString();
  EXPECT_TRUE(commit.appends[4]->idempotent_replay);
  EXPECT_EQ(commit.appends[4]->first_version.value(), 1u);
  EXPECT_EQ(commit.appends[4]->seqs, commit.appends[0]->seqs);
  EXPECT_EQ(commit.appends[4]->positions, commit.appends[0]->positions);
  EXPECT_EQ(commit.appends[5].status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(commit.appends[6].status().code(), StatusCode::kAlreadyExists);
  if (GetParam() == 0) {
    EXPECT_EQ(commit.appends[0]->positions, (std::vector<std::uint64_t>{0, 0}));
    EXPECT_TRUE(commit.numbered.empty());
  } else {  // the head was free: numbered in the transaction, in stream order
    EXPECT_EQ(commit.appends[0]->positions, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(commit.appends[2]->positions, (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(commit.head, 3u);
  }

  // The same batch again: every append that succeeded is now a replay of itself.
  const AppendCommit again = appender.Commit(batch, GetParam());
  ASSERT_TRUE(again.appends[0].ok() && again.appends[2].ok());
  EXPECT_TRUE(again.appends[0]->idempotent_replay);
  EXPECT_TRUE(again.appends[2]->idempotent_replay);
  EXPECT_EQ(again.appends[2]->seqs, commit.appends[2]->seqs);
  EXPECT_EQ(again.appends[3].status().code(), StatusCode::kVersionConflict);
}

TEST_P(OneBatch, ABatchOfDistinctStreamsIsDecidedAsASet) {
  // Each stream once and every id new: the set-based path of cqrs_append.
  const std::string url = testing::FreshPostgresDatabase();
  {
    auto c = pg::Connection::Open(url);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(pg::Migrate(**c, kEventStoreComponent, EventStoreMigrations()).ok());
  }
  PgAppender appender(url);
  const AppendCommit first =
      appender.Commit(std::vector<PendingAppend>{Append("b", ExpectedVersion::Any(), {Event(Uuid::V7())})}, GetParam());
  ASSERT_TRUE(first.appends[0].ok()) << first.appends[0].status().ToString();
  const std::vector<PendingAppend> batch = {
      Append("c", ExpectedVersion::Exact(StreamVersion(0)), {Event(Uuid::V7())}),        // c 1
      Append("a", ExpectedVersion::NoStream(), {Event(Uuid::V7()), Event(Uuid::V7())}),  // a 1-2
      Append("b", ExpectedVersion::NoStream(), {Event(Uuid::V7())}),                     // b is at 1: conflict
      Append("d", ExpectedVersion::Exists(), {Event(Uuid::V7())}),                       // d does not exist
      Append("e", ExpectedVersion::Exact(StreamVersion(0)), {Event(Uuid::V7()), Event(Uuid::V7())}),  // e 1-2
  };
  const AppendCommit commit = appender.Commit(batch, GetParam());
  ASSERT_EQ(commit.appends.size(), batch.size());
  ASSERT_TRUE(commit.appends[0].ok() && commit.appends[1].ok() && commit.appends[4].ok());
  EXPECT_EQ(commit.appends[0]->first_version.value(), 1u);
  EXPECT_EQ(commit.appends[1]->first_version.value(), 1u);
  EXPECT_EQ(commit.appends[4]->first_version.value(), 1u);
  EXPECT_EQ(commit.appends[2].status().code(), StatusCode::kVersionConflict);
  EXPECT_EQ(commit.appends[3].status().code(), StatusCode::kVersionConflict);
  std::set<std::int64_t> seqs;
  for (int i : {0, 1, 4}) {
    for (std::int64_t s : commit.appends[i]->seqs) seqs.insert(s);
  }
  EXPECT_EQ(seqs.size(), 5u);  // every new event has its own seq
  EXPECT_EQ(*seqs.begin() > first.appends[0]->seqs[0], true);
  if (GetParam() != 0) {  // numbered in stream order: a 1-2, c, e 1-2 after b's first event
    EXPECT_EQ(commit.appends[1]->positions, (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(commit.appends[0]->positions, (std::vector<std::uint64_t>{4}));
    EXPECT_EQ(commit.appends[4]->positions, (std::vector<std::uint64_t>{5, 6}));
    EXPECT_EQ(commit.head, 6u);
  } else {
    EXPECT_EQ(commit.appends[1]->positions, (std::vector<std::uint64_t>{0, 0}));
  }
}

TEST(AppendNumbering, TheCommittedBacklogIsNumberedFirstAndAStaleFenceNumbersNothing) {
  const std::string url = testing::FreshPostgresDatabase();
  {
    auto c = pg::Connection::Open(url);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(pg::Migrate(**c, kEventStoreComponent, EventStoreMigrations()).ok());
  }
  PgAppender appender(url);
  // Committed unnumbered (as by an append that found the head busy) ...
  const AppendCommit backlog = appender.Commit(
      std::vector<PendingAppend>{Append("a", ExpectedVersion::NoStream(), {Event(Uuid::V7()), Event(Uuid::V7())})}, 0);
  ASSERT_TRUE(backlog.appends[0].ok()) << backlog.appends[0].status().ToString();
  // ... a stale fencing token (the epoch is 0, never a leader's token) numbers nothing ...
  const AppendCommit stale =
      appender.Commit(std::vector<PendingAppend>{Append("b", ExpectedVersion::NoStream(), {Event(Uuid::V7())})}, 7);
  ASSERT_TRUE(stale.appends[0].ok()) << stale.appends[0].status().ToString();
  EXPECT_TRUE(stale.numbered.empty());
  EXPECT_EQ(stale.appends[0]->positions, (std::vector<std::uint64_t>{0}));
  // ... and the next append that finds the head free numbers the backlog before its own rows.
  const AppendCommit next = appender.Commit(
      std::vector<PendingAppend>{Append("c", ExpectedVersion::NoStream(), {Event(Uuid::V7())}),
                                 Append("a", ExpectedVersion::Exact(StreamVersion(2)), {Event(Uuid::V7())})},
      -1);
  ASSERT_TRUE(next.appends[0].ok() && next.appends[1].ok());
  EXPECT_EQ(next.appends[1]->first_version.value(), 3u);
  EXPECT_EQ(next.appends[1]->positions, (std::vector<std::uint64_t>{4}));  // a 1-2 and b first, in seq order
  EXPECT_EQ(next.appends[0]->positions, (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(next.head, 5u);
  std::vector<NumberedEvent> expected = {
      {backlog.appends[0]->seqs[0], 1}, {backlog.appends[0]->seqs[1], 2}, {stale.appends[0]->seqs[0], 3}};
  EXPECT_EQ(std::vector<NumberedEvent>(next.numbered.begin(), next.numbered.begin() + 3), expected);
  // The chain the numbering wrote is the one readers verify.
  PostgresStoreOptions options;
  options.url = url;
  options.read_only = true;
  auto store = OpenPostgresEventStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto report = VerifyPostgresChain(**store);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->records, 5u);
  EXPECT_FALSE(report->problem.has_value()) << report->problem->reason;
}

}  // namespace
}  // namespace cqrs
