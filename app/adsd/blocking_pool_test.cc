#include "app/adsd/blocking_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace adsd::app {
namespace {

using namespace std::chrono_literals;

TEST(BlockingPool, AFullQueueShedsWith503AndRetryAfterAtOnce) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, running = false;
  std::vector<int> statuses;
  std::vector<std::string> retry_after;
  auto responder = [&] {
    return http::Responder([&](http::Response r) {
      std::lock_guard lock(mu);
      statuses.push_back(r.status);
      for (auto& [k, v] : r.headers) {
        if (k == "Retry-After") retry_after.push_back(v);
      }
      cv.notify_all();
    });
  };
  {
    BlockingPool pool(1, 2);
    // One task holds the only thread; two more fill the queue.
    auto first = responder();
    pool.Submit(first, [&, first] {
      {
        std::unique_lock lock(mu);
        running = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      }
      first(http::Response::Json(200, "{}"));
    });
    {
      std::unique_lock lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return running; }));
    }
    for (int i = 0; i < 2; ++i) {
      auto r = responder();
      pool.Submit(r, [r] { r(http::Response::Json(200, "{}")); });
    }
    // The queue is full: the next request is answered on this thread, without waiting.
    pool.Submit(responder(), [] { FAIL() << "a shed task must not run"; });
    {
      std::lock_guard lock(mu);
      ASSERT_EQ(statuses, std::vector<int>{503});
      EXPECT_EQ(retry_after, std::vector<std::string>{"1"});
      release = true;
    }
    cv.notify_all();
  }  // the destructor runs what was queued
  std::lock_guard lock(mu);
  EXPECT_EQ(statuses, (std::vector<int>{503, 200, 200, 200}));
}

}  // namespace
}  // namespace adsd::app
