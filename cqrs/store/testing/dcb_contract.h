// The multi-stream, tag, query and conditional-append part of the EventStore contract
// (event_store.h, query.h), as tests that every backend passes. Included after the main contract
// by each backend's test: the cases join the same EventStoreContract suite.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "cqrs/core/testing/wait_until.h"
#include "cqrs/store/event_store.h"

namespace cqrs {
namespace {

EventData Tagged(std::vector<std::string> tags, std::string type = "Happened", std::string payload = "{}") {
  EventData e = Event(std::move(payload), std::move(type));
  e.tags = std::move(tags);
  return e;
}

std::vector<Position> PositionsOf(const QueryResult& r) {
  std::vector<Position> out;
  for (const RecordedEvent& e : r.events) out.push_back(e.position);
  return out;
}

TEST_P(EventStoreContract, TagsRoundTripThroughEveryReadAndReopen) {
  TempDir dir = GetParam()();
  const EventData e = Tagged({"course:c1", "student:s1"});
  {
    auto s = Open(dir);
    ASSERT_TRUE(AppendOne(*s, "enrolment-1", ExpectedVersion::NoStream(), e).ok());
    ASSERT_TRUE(AppendOne(*s, "other", ExpectedVersion::NoStream(), Event()).ok());
  }
  auto s = Open(dir);
  EXPECT_EQ(s->ReadStream("enrolment-1", StreamVersion(1), 1)->front().tags, e.tags);
  EXPECT_EQ(s->ReadAll(Position(1), 1)->front().tags, e.tags);
  EXPECT_TRUE(s->ReadAll(Position(2), 1)->front().tags.empty());
  auto q = s->Read(Query::AllOf({"student:s1"}), Position(0), 10);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->events.size(), 1u);
  EXPECT_EQ(q->events.front().event_id, e.event_id);
  EXPECT_EQ(q->events.front().tags, e.tags);
  EXPECT_EQ(q->head, Position(2));  // complete: the head it looked up to
}

TEST_P(EventStoreContract, AQueryMatchesAnyItemAndEveryTagAndOneOfTheTypesOfAnItem) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Tagged({"x", "y"}, "A")).ok());       // 1
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Tagged({"x"}, "B")).ok());            // 2
  ASSERT_TRUE(AppendOne(*s, "b", ExpectedVersion::Any(), Tagged({"y"}, "A")).ok());            // 3
  ASSERT_TRUE(AppendOne(*s, "b", ExpectedVersion::Any(), Tagged({}, "C")).ok());               // 4
  ASSERT_TRUE(AppendOne(*s, "c", ExpectedVersion::Any(), Tagged({"y", "x", "z"}, "B")).ok());  // 5
  auto read = [&](Query q, Position after = Position(0)) {
    auto r = s->Read(q, after, 100);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? PositionsOf(*r) : std::vector<Position>{};
  };
  using P = std::vector<Position>;
  EXPECT_EQ(read(Query::AllOf({"x"})), (P{Position(1), Position(2), Position(5)}));
  EXPECT_EQ(read(Query::AllOf({"x", "y"})), (P{Position(1), Position(5)}));
  EXPECT_EQ(read(Query{{QueryItem{{"A"}, {"y"}}}}), (P{Position(1), Position(3)}));
  EXPECT_EQ(read(Query{{QueryItem{{"A", "B"}, {"x"}}}}), (P{Position(1), Position(2), Position(5)}));
  EXPECT_EQ(read(Query{{QueryItem{{"C"}, {}}}}), (P{Position(4)}));
  EXPECT_EQ(read(Query{{QueryItem{{"C"}, {}}, QueryItem{{}, {"z"}}, QueryItem{{"B"}, {"x"}}}}),
            (P{Position(2), Position(4), Position(5)}));
  EXPECT_EQ(read(Query::AllOf({"x"}), Position(2)), (P{Position(5)}));
  EXPECT_TRUE(read(Query::AllOf({"nobody"})).empty());
  EXPECT_TRUE(read(Query::AllOf({"x", "nobody"})).empty());
  // Cut at max: the head is the last event returned, to read on from.
  auto cut = s->Read(Query::AllOf({"x"}), Position(0), 2);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(PositionsOf(*cut), (P{Position(1), Position(2)}));
  EXPECT_EQ(cut->head, Position(2));
}

TEST_P(EventStoreContract, AMultiStreamAppendIsAllOrNothingAndAConflictNamesTheStream) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "seat-7", ExpectedVersion::NoStream(), Event()).ok());
  const std::vector<EventData> order{Event("order"), Event("order2")};
  const std::vector<EventData> seat{Event("seat")};
  std::vector<StreamAppend> both{{"order-1", ExpectedVersion::NoStream(), order},
                                 {"seat-7", ExpectedVersion::NoStream(), seat}};
  auto r = s->AppendToStreams(both, std::nullopt);
  ASSERT_EQ(r.status().code(), StatusCode::kVersionConflict);
  EXPECT_NE(r.status().message().find("seat-7"), std::string::npos) << r.status().message();
  EXPECT_EQ(s->Head(), Position(1));
  EXPECT_EQ(s->GetStreamVersion("order-1").value(), StreamVersion(0));

  both[1].expected = ExpectedVersion::Exact(StreamVersion(1));
  r = s->AppendToStreams(both, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->idempotent_replay);
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->first_position, Position(2));
  EXPECT_EQ(r->last_position, Position(4));
  EXPECT_EQ(r->streams[0].first_version, StreamVersion(1));
  EXPECT_EQ(r->streams[0].last_version, StreamVersion(2));
  EXPECT_EQ(r->streams[0].first_position, Position(2));
  EXPECT_EQ(r->streams[0].last_position, Position(3));
  EXPECT_EQ(r->streams[1].first_version, StreamVersion(2));
  EXPECT_EQ(r->streams[1].last_position, Position(4));
  auto all = s->ReadAll(Position(2), 10);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].stream, "order-1");
  EXPECT_EQ((*all)[2].stream, "seat-7");
  EXPECT_EQ((*all)[2].version, StreamVersion(2));

  // The same append again is a replay: same result, nothing written.
  auto again = s->AppendToStreams(both, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->idempotent_replay);
  EXPECT_EQ(again->first_position, Position(2));
  EXPECT_EQ(again->last_position, Position(4));
  EXPECT_EQ(again->streams[1].first_position, Position(4));
  EXPECT_EQ(s->Head(), Position(4));
}

TEST_P(EventStoreContract, AConditionalAppendFailsNamingTheFirstEventThatMatchedAfterItsPosition) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  const Query seat = Query::AllOf({"seat:7"});
  auto before = s->Read(seat, Position(0), 10);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->events.empty());
  EXPECT_EQ(before->head, Position(0));
  // Unrelated events after the read do not matter.
  ASSERT_TRUE(AppendOne(*s, "x", ExpectedVersion::Any(), Tagged({"seat:8"})).ok());
  const EventData first = Tagged({"seat:7"}, "SeatReserved");
  auto won = s->AppendIf("booking-1", ExpectedVersion::NoStream(), std::span(&first, 1), {seat, before->head});
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_EQ(won->first_position, Position(2));
  ASSERT_TRUE(AppendOne(*s, "y", ExpectedVersion::Any(), Tagged({"seat:7"}, "SeatReleased")).ok());

  const EventData second = Tagged({"seat:7"}, "SeatReserved");
  auto lost = s->AppendIf("booking-2", ExpectedVersion::NoStream(), std::span(&second, 1), {seat, before->head});
  ASSERT_EQ(lost.status().code(), StatusCode::kVersionConflict);
  EXPECT_NE(lost.status().message().find(first.event_id.ToString()), std::string::npos) << lost.status().message();
  EXPECT_EQ(s->Head(), Position(3));
  EXPECT_EQ(s->GetStreamVersion("booking-2").value(), StreamVersion(0));

  // Decided on everything up to the head: it goes in.
  auto now = s->Read(seat, Position(0), 10);
  ASSERT_EQ(now->events.size(), 2u);
  auto ok = s->AppendIf("booking-2", ExpectedVersion::NoStream(), std::span(&second, 1), {seat, now->head});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  // Its retry is a replay although its own event now matches the query.
  auto retry = s->AppendIf("booking-2", ExpectedVersion::NoStream(), std::span(&second, 1), {seat, now->head});
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->idempotent_replay);
  EXPECT_EQ(retry->first_position, ok->first_position);
  // A type-only condition: any SeatReleased after position 2.
  const EventData third = Event();
  auto typed = s->AppendIf("z", ExpectedVersion::Any(), std::span(&third, 1),
                           {Query{{QueryItem{{"SeatReleased"}, {}}}}, Position(2)});
  EXPECT_EQ(typed.status().code(), StatusCode::kVersionConflict);
  typed = s->AppendIf("z", ExpectedVersion::Any(), std::span(&third, 1),
                      {Query{{QueryItem{{"SeatReleased"}, {}}}}, Position(3)});
  EXPECT_TRUE(typed.ok()) << typed.status().ToString();
}

TEST_P(EventStoreContract, BadTagsQueriesAndConditionsAreInvalidAndAppendNothing) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Tagged({"t"})).ok());
  const EventData e = Tagged({"t"});
  auto cond = [&](Query q, Position after) {
    return s->AppendIf("b", ExpectedVersion::Any(), std::span(&e, 1), AppendCondition{std::move(q), after});
  };
  std::vector<std::string> many_tags;
  for (std::size_t i = 0; i <= kMaxTagsPerItem; ++i) many_tags.push_back("t" + std::to_string(i));
  Query many_items;
  for (std::size_t i = 0; i <= kMaxQueryItems; ++i) many_items.items.push_back(QueryItem{{}, {"t"}});
  const std::string long_tag(kMaxTagBytes + 1, 't');
  for (auto r :
       {cond(Query{}, Position(0)), cond(Query{{QueryItem{}}}, Position(0)), cond(Query::AllOf(many_tags), Position(0)),
        cond(many_items, Position(0)), cond(Query::AllOf({long_tag}), Position(0)),
        cond(Query::AllOf({""}), Position(0)), cond(Query::AllOf({"t"}), Position(2))}) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  std::vector<std::string> event_tags;
  for (std::size_t i = 0; i <= kMaxTagsPerEvent; ++i) event_tags.push_back("e" + std::to_string(i));
  for (const std::vector<std::string>& tags :
       {event_tags, std::vector<std::string>{long_tag}, std::vector<std::string>{"dup", "dup"},
        std::vector<std::string>{"a\nb"}, std::vector<std::string>{std::string("\xff\xfe", 2)}}) {
    auto r = AppendOne(*s, "b", ExpectedVersion::Any(), Tagged(tags));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  const std::vector<EventData> one{Event()};
  const std::vector<EventData> other{Event()};
  const std::vector<StreamAppend> twice{{"b", ExpectedVersion::Any(), one}, {"b", ExpectedVersion::Any(), other}};
  EXPECT_EQ(s->AppendToStreams(twice, std::nullopt).status().code(), StatusCode::kInvalidArgument);
  const std::vector<StreamAppend> same_id{{"b", ExpectedVersion::Any(), one}, {"c", ExpectedVersion::Any(), one}};
  EXPECT_EQ(s->AppendToStreams(same_id, std::nullopt).status().code(), StatusCode::kInvalidArgument);
  std::vector<std::vector<EventData>> events(kMaxStreamsPerAppend + 1);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < events.size(); ++i) {
    events[i].push_back(Event());
    names.push_back("s" + std::to_string(i));
  }
  std::vector<StreamAppend> too_many;
  for (std::size_t i = 0; i < events.size(); ++i) too_many.push_back({names[i], ExpectedVersion::Any(), events[i]});
  EXPECT_EQ(s->AppendToStreams(too_many, std::nullopt).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->AppendToStreams({}, std::nullopt).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Read(Query{}, Position(0), 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Head(), Position(1));
  EXPECT_EQ(s->ReadAll(Position(1), 10)->size(), 1u);
}

// Appenders that each decide on their own tag never fail each other's condition, however they
// interleave: a conflict here would be a false one.
TEST_P(EventStoreContract, ConditionalAppendsOnDisjointTagsNeverConflict) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  constexpr int kAppenders = 8;
  constexpr int kRounds = 20;
  std::atomic<int> conflicts{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kAppenders; ++t) {
    threads.emplace_back([&, t] {
      const Query mine = Query::AllOf({"owner:" + std::to_string(t)});
      for (int i = 0; i < kRounds; ++i) {
        auto seen = s->Read(mine, Position(0), 1000);
        if (!seen.ok()) {
          ++errors;
          continue;
        }
        const EventData e = Tagged({"owner:" + std::to_string(t)});
        auto r = s->AppendIf("s-" + std::to_string(t), ExpectedVersion::Any(), std::span(&e, 1), {mine, seen->head});
        if (r.status().code() == StatusCode::kVersionConflict) ++conflicts;
        if (!r.ok() && r.status().code() != StatusCode::kVersionConflict) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(conflicts.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(s->Head(), Position(kAppenders * kRounds));
}

// N appenders decide at once that seat 9 is free (nothing tagged with it after P) and try to take
// it: exactly one wins, whatever the interleaving; the losers' conflicts name the winner's event.
TEST_P(EventStoreContract, ARaceOfConditionalAppendsOnOneTagHasExactlyOneWinner) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "noise", ExpectedVersion::Any(), Tagged({"seat:1"})).ok());
  constexpr int kRacers = 8;
  for (int round = 0; round < 3; ++round) {
    const std::string tag = "seat:9-" + std::to_string(round);
    const Query seat = Query::AllOf({tag});
    auto seen = s->Read(seat, Position(0), 10);
    ASSERT_TRUE(seen.ok());
    ASSERT_TRUE(seen->events.empty());
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    std::vector<Uuid> ids(kRacers);
    std::barrier start(kRacers);
    std::vector<std::thread> threads;
    for (int t = 0; t < kRacers; ++t) {
      threads.emplace_back([&, t] {
        const EventData e = Tagged({tag}, "SeatReserved");
        ids[static_cast<std::size_t>(t)] = e.event_id;
        start.arrive_and_wait();
        auto r = s->AppendIf("booking-" + std::to_string(round) + "-" + std::to_string(t), ExpectedVersion::NoStream(),
                             std::span(&e, 1), {seat, seen->head});
        if (r.ok()) ++wins;
        if (r.status().code() == StatusCode::kVersionConflict) ++conflicts;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(conflicts.load(), kRacers - 1);
    auto after = s->Read(seat, Position(0), 10);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->events.size(), 1u);
  }
}

// A plain append of a matching event racing a conditional one: either it lands before the
// conditional append's read position... or the condition fails; it never slips in between.
TEST_P(EventStoreContract, APlainAppendOfAMatchingEventNeverSlipsUnderACondition) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  // Which one gets there first is the scheduler's choice (on one machine the plain one usually
  // does): each round checks the outcome, whichever it is.
  for (int round = 0; round < 20; ++round) {
    const std::string tag = "k:" + std::to_string(round);
    const Query q = Query::AllOf({tag});
    auto seen = s->Read(q, Position(0), 10);
    ASSERT_TRUE(seen.ok());
    std::barrier start(2);
    Result<AppendResult> conditional = Internal("not run");
    std::thread plain([&] {
      const EventData e = Tagged({tag, "other"});
      start.arrive_and_wait();
      EXPECT_TRUE(AppendOne(*s, "plain-" + std::to_string(round), ExpectedVersion::Any(), e).ok());
    });
    const EventData mine = Tagged({tag});
    start.arrive_and_wait();
    conditional =
        s->AppendIf("cond-" + std::to_string(round), ExpectedVersion::Any(), std::span(&mine, 1), {q, seen->head});
    plain.join();
    if (!conditional.ok()) {
      EXPECT_EQ(conditional.status().code(), StatusCode::kVersionConflict) << conditional.status().ToString();
      continue;
    }
    // Nothing matching between the read and the conditional event.
    auto after = s->Read(q, seen->head, 10);
    ASSERT_TRUE(after.ok());
    ASSERT_FALSE(after->events.empty());
    EXPECT_EQ(after->events.front().event_id, mine.event_id) << "round " << round;
  }
}

TEST_P(EventStoreContract, AQuerySubscriptionDeliversOnlyMatchingEventsThenFollows) {
  TempDir dir = GetParam()();
  auto s = Open(dir);
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Tagged({"course:1"})).ok());
  ASSERT_TRUE(AppendOne(*s, "a", ExpectedVersion::Any(), Tagged({"course:2"})).ok());
  std::mutex mu;
  std::vector<Position> got;
  auto sub = s->SubscribeToQuery(Query::AllOf({"course:1"}), Position(0), 10, [&](std::span<const RecordedEvent> b) {
    std::lock_guard lock(mu);
    for (const RecordedEvent& e : b) got.push_back(e.position);
    return Status::Ok();
  });
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(AppendOne(*s, "b", ExpectedVersion::Any(), Tagged({i % 2 == 0 ? "course:1" : "course:3"})).ok());
  }
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        std::lock_guard lock(mu);
        return got.size() >= 4;
      },
      std::chrono::seconds(10)));
  std::lock_guard lock(mu);
  EXPECT_EQ(got, (std::vector<Position>{Position(1), Position(3), Position(5), Position(7)}));
}

}  // namespace
}  // namespace cqrs
