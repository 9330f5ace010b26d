#include "cqrs/consumer/keyed_lanes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace cqrs::consumer {
namespace {

using std::chrono::steady_clock;

TEST(KeyedLanes, SameKeyRunsInOrderAcrossManyLanes) {
  KeyedLanes lanes(8, 1024);
  std::mutex mu;
  std::map<std::string, std::vector<std::uint64_t>> seen;
  for (std::uint64_t p = 1; p <= 2000; ++p) {
    const std::string key = "ad-" + std::to_string(p % 37);
    ASSERT_TRUE(lanes.Dispatch(Ticket(p), key, [&, key, p] {
      {
        std::lock_guard lock(mu);
        seen[key].push_back(p);
      }
      lanes.Done(Ticket(p));
    }));
  }
  ASSERT_TRUE(lanes.WaitFor(Ticket(2000), steady_clock::now() + std::chrono::seconds(30)));
  for (const auto& [key, positions] : seen) {
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end())) << key;
  }
  EXPECT_EQ(lanes.in_flight(), 0u);
}

TEST(KeyedLanes, WatermarkStopsBelowTheFirstUnfinishedItem) {
  KeyedLanes lanes(4, 64);
  std::atomic<bool> release{false};
  // Ticket 2 is slow; 1, 3 and 4 finish at once.
  ASSERT_TRUE(lanes.Dispatch(Ticket(1), "a", [&] { lanes.Done(Ticket(1)); }));
  ASSERT_TRUE(lanes.Dispatch(Ticket(2), "b", [&] {
    while (!release.load()) std::this_thread::yield();
    lanes.Done(Ticket(2));
  }));
  ASSERT_TRUE(lanes.Skip(Ticket(3)));
  ASSERT_TRUE(lanes.Dispatch(Ticket(4), "a", [&] { lanes.Done(Ticket(4)); }));
  ASSERT_TRUE(lanes.WaitFor(Ticket(1), steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_FALSE(lanes.WaitFor(Ticket(3), steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_EQ(lanes.watermark(), Ticket(1));
  release.store(true);
  ASSERT_TRUE(lanes.WaitFor(Ticket(4), steady_clock::now() + std::chrono::seconds(10)));
}

TEST(KeyedLanes, DispatchWaitsForRoomAndStopReleasesIt) {
  KeyedLanes lanes(1, 2);
  ASSERT_TRUE(lanes.Dispatch(Ticket(1), "a", [] {}));  // never done
  ASSERT_TRUE(lanes.Skip(Ticket(2)));
  std::atomic<bool> returned{false}, result{true};
  std::thread t([&] {
    result.store(lanes.Skip(Ticket(3)));  // full: waits
    returned.store(true);
  });
  EXPECT_FALSE(lanes.WaitFor(Ticket(3), steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_FALSE(returned.load());
  lanes.Stop();
  t.join();
  EXPECT_FALSE(result.load());
}

TEST(KeyedLanes, AKeyStaysOwnedUntilItsItemIsDoneEvenAfterTheWorkReturns) {
  KeyedLanes lanes(4, 64);
  std::atomic<bool> second_ran{false};
  // The first item of "a" returns at once but finishes later (its effect becomes durable elsewhere).
  ASSERT_TRUE(lanes.Dispatch(Ticket(1), "a", [] {}));
  ASSERT_TRUE(lanes.Dispatch(Ticket(2), "a", [&] {
    second_ran.store(true);
    lanes.Done(Ticket(2));
  }));
  ASSERT_TRUE(lanes.Dispatch(Ticket(3), "b", [&] { lanes.Done(Ticket(3)); }));
  // Other keys go on meanwhile: "b" is done although "a" is not.
  std::atomic<bool> b_done{false};
  ASSERT_TRUE(lanes.Dispatch(Ticket(4), "b", [&] {
    b_done.store(true);
    lanes.Done(Ticket(4));
  }));
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!b_done.load() && steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(b_done.load());
  EXPECT_FALSE(second_ran.load()) << "the key's next item started before its first was done";
  EXPECT_EQ(lanes.watermark(), Ticket(0));
  lanes.Done(Ticket(1));
  ASSERT_TRUE(lanes.WaitFor(Ticket(4), steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_TRUE(second_ran.load());
}

TEST(KeyedLanes, ARetryRunsAgainNotBeforeItsTimeAndKeepsItsKey) {
  KeyedLanes lanes(2, 64);
  std::atomic<int> attempts{0};
  std::atomic<bool> later_ran{false};
  const auto began = steady_clock::now();
  std::atomic<std::int64_t> retried_after_us{0};
  std::function<void()> work = [&] {
    if (attempts.fetch_add(1) == 0) {
      lanes.Retry(Ticket(1), steady_clock::now() + std::chrono::milliseconds(30), work);
      return;
    }
    retried_after_us.store(std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - began).count());
    EXPECT_FALSE(later_ran.load()) << "the key's next item ran during the retry's pause";
    lanes.Done(Ticket(1));
  };
  ASSERT_TRUE(lanes.Dispatch(Ticket(1), "a", work));
  ASSERT_TRUE(lanes.Dispatch(Ticket(2), "a", [&] {
    later_ran.store(true);
    lanes.Done(Ticket(2));
  }));
  ASSERT_TRUE(lanes.WaitFor(Ticket(2), steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_GE(retried_after_us.load(), 30'000);
}

}  // namespace
}  // namespace cqrs::consumer
