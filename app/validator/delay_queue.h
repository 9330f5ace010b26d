// DelayQueue: runs tasks at their deadlines on one thread, so that a simulated slow service
// answers late without holding an HTTP thread for the wait.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace adsd::app {

class DelayQueue {
 public:
  using Clock = std::chrono::steady_clock;
  DelayQueue() : thread_([this] { Run(); }) {}
  ~DelayQueue() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void At(Clock::time_point when, std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.emplace(when, std::move(task));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      if (stop_ && tasks_.empty()) return;
      if (tasks_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto when = tasks_.begin()->first;
      if (!stop_ && Clock::now() < when) {
        cv_.wait_until(lock, when);
        continue;
      }
      auto task = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                                              // guarded by mu_
  std::thread thread_;
};

}  // namespace adsd::app
