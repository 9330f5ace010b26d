#include "cqrs/projection/position_waiters.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace cqrs::projection {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Collects answers; waits (bounded) for a count of them.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, bool>> got;  // (tag, reached)
  std::vector<std::thread::id> threads;

  PositionWaiters::Done For(int tag) {
    return [this, tag](bool reached) {
      std::lock_guard lock(mu);
      got.emplace_back(tag, reached);
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool WaitCount(std::size_t n, std::chrono::milliseconds within = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, within, [&] { return got.size() >= n; });
  }
  std::size_t Count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

TEST(PositionWaiters, ReachedPositionsAreAnsweredTrueInAnyOrderOfRegistration) {
  std::atomic<std::uint64_t> position{0};
  Answers a;
  PositionWaiters w(position, 16);
  ASSERT_TRUE(w.Add(Position(5), Clock::now() + 60s, a.For(5)).ok());
  ASSERT_TRUE(w.Add(Position(3), Clock::now() + 60s, a.For(3)).ok());
  position.store(4);
  w.Notify();
  ASSERT_TRUE(a.WaitCount(1));
  EXPECT_EQ(w.waiting(), 1u);
  position.store(9);
  w.Notify();
  ASSERT_TRUE(a.WaitCount(2));
  EXPECT_EQ(a.got, (std::vector<std::pair<int, bool>>{{3, true}, {5, true}}));
  EXPECT_EQ(w.waiting(), 0u);
}

TEST(PositionWaiters, APassedDeadlineIsAnsweredFalseWithoutAnyNotify) {
  std::atomic<std::uint64_t> position{0};
  Answers a;
  PositionWaiters w(position, 16);
  ASSERT_TRUE(w.Add(Position(100), Clock::now() + 60s, a.For(1)).ok());
  // A later registration with an earlier deadline must re-arm the timer.
  const auto added = Clock::now();
  ASSERT_TRUE(w.Add(Position(100), added + 50ms, a.For(2)).ok());
  ASSERT_TRUE(a.WaitCount(1));
  EXPECT_GE(Clock::now() - added, 50ms);
  EXPECT_EQ(a.got.front(), std::make_pair(2, false));
  EXPECT_EQ(w.waiting(), 1u);
}

TEST(PositionWaiters, AnAlreadyReachedPositionIsAnsweredOnTheRegistrysThread) {
  std::atomic<std::uint64_t> position{7};
  Answers a;
  PositionWaiters w(position, 16);
  ASSERT_TRUE(w.Add(Position(7), Clock::now() + 60s, a.For(7)).ok());
  ASSERT_TRUE(a.WaitCount(1));
  EXPECT_TRUE(a.got.front().second);
  EXPECT_NE(a.threads.front(), std::this_thread::get_id());
}

TEST(PositionWaiters, BeyondCapacityAddIsRefusedAndTheCallbackNeverRuns) {
  std::atomic<std::uint64_t> position{0};
  Answers a;
  {
    PositionWaiters w(position, 2);
    ASSERT_TRUE(w.Add(Position(10), Clock::now() + 60s, a.For(1)).ok());
    ASSERT_TRUE(w.Add(Position(10), Clock::now() + 60s, a.For(2)).ok());
    const Status third = w.Add(Position(10), Clock::now() + 60s, a.For(3));
    EXPECT_EQ(third.code(), StatusCode::kUnavailable);
    position.store(10);
    w.Notify();
    ASSERT_TRUE(a.WaitCount(2));
    // Room again once answered.
    EXPECT_TRUE(w.Add(Position(20), Clock::now() + 60s, a.For(4)).ok());
  }  // the destructor answers what still waits
  EXPECT_EQ(a.Count(), 3u);
  for (auto& [tag, reached] : a.got) EXPECT_NE(tag, 3);
  EXPECT_EQ(a.got.back(), std::make_pair(4, false));
}

// A callback may drop the last reference to the runner that owns the registry (a rebuild
// replaced it): the registry is then destroyed on its own thread, and must neither deadlock nor
// lose the other waits.
TEST(PositionWaiters, DestroyedFromItsOwnCallbackAnswersTheRestAndEnds) {
  std::atomic<std::uint64_t> position{0};
  Answers a;
  auto w = std::make_unique<PositionWaiters>(position, 16);
  std::mutex mu;  // the reset waits until this thread is done with `w`
  std::unique_lock hold(mu);
  ASSERT_TRUE(w->Add(Position(1), Clock::now() + 60s, [&](bool) {
                 std::lock_guard lock(mu);
                 w.reset();
               }).ok());
  ASSERT_TRUE(w->Add(Position(50), Clock::now() + 60s, a.For(2)).ok());
  position.store(1);
  w->Notify();
  hold.unlock();
  ASSERT_TRUE(a.WaitCount(1));
  EXPECT_EQ(a.got.front(), std::make_pair(2, false));
}

TEST(PositionWaiters, ManyWaitsHoldNoThreadEach) {
  std::atomic<std::uint64_t> position{0};
  Answers a;
  PositionWaiters w(position, 100'000);
  for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(w.Add(Position(1 + i % 100), Clock::now() + 60s, a.For(i)).ok());
  EXPECT_EQ(w.waiting(), 20'000u);
  position.store(100);
  w.Notify();
  ASSERT_TRUE(a.WaitCount(20'000));
  for (auto& [tag, reached] : a.got) EXPECT_TRUE(reached);
}

}  // namespace
}  // namespace cqrs::projection
