#include "cqrs/projection/keyed_lanes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace cqrs::projection {
namespace {

using std::chrono::steady_clock;

TEST(KeyedLanes, SameKeyRunsInOrderAcrossManyLanes) {
  KeyedLanes lanes(8, 1024);
  std::mutex mu;
  std::map<std::string, std::vector<std::uint64_t>> seen;
  for (std::uint64_t p = 1; p <= 2000; ++p) {
    const std::string key = "ad-" + std::to_string(p % 37);
    ASSERT_TRUE(lanes.Dispatch(Position(p), key, [&, key, p] {
      {
        std::lock_guard lock(mu);
        seen[key].push_back(p);
      }
      lanes.Done(Position(p));
    }));
  }
  ASSERT_TRUE(lanes.WaitFor(Position(2000), steady_clock::now() + std::chrono::seconds(30)));
  for (const auto& [key, positions] : seen) {
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end())) << key;
  }
  EXPECT_EQ(lanes.in_flight(), 0u);
}

TEST(KeyedLanes, WatermarkStopsBelowTheFirstUnfinishedItem) {
  KeyedLanes lanes(4, 64);
  std::atomic<bool> release{false};
  // Position 2 is slow; 1, 3 and 4 finish at once.
  ASSERT_TRUE(lanes.Dispatch(Position(1), "a", [&] { lanes.Done(Position(1)); }));
  ASSERT_TRUE(lanes.Dispatch(Position(2), "b", [&] {
    while (!release.load()) std::this_thread::yield();
    lanes.Done(Position(2));
  }));
  ASSERT_TRUE(lanes.Skip(Position(3)));
  ASSERT_TRUE(lanes.Dispatch(Position(4), "a", [&] { lanes.Done(Position(4)); }));
  ASSERT_TRUE(lanes.WaitFor(Position(1), steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_FALSE(lanes.WaitFor(Position(3), steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_EQ(lanes.watermark(), Position(1));
  release.store(true);
  ASSERT_TRUE(lanes.WaitFor(Position(4), steady_clock::now() + std::chrono::seconds(10)));
}

TEST(KeyedLanes, DispatchWaitsForRoomAndStopReleasesIt) {
  KeyedLanes lanes(1, 2);
  ASSERT_TRUE(lanes.Dispatch(Position(1), "a", [] {}));  // never done
  ASSERT_TRUE(lanes.Skip(Position(2)));
  std::atomic<bool> returned{false}, result{true};
  std::thread t([&] {
    result.store(lanes.Skip(Position(3)));  // full: waits
    returned.store(true);
  });
  EXPECT_FALSE(lanes.WaitFor(Position(3), steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_FALSE(returned.load());
  lanes.Stop();
  t.join();
  EXPECT_FALSE(result.load());
}

}  // namespace
}  // namespace cqrs::projection
