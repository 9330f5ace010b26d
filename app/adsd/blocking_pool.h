// BlockingPool: a few threads for request steps that must wait (the sync pipeline's chain of
// durable writes, PATCH's read-then-append), so that they never block the HTTP I/O threads or
// the log's completion thread. Tasks run in submission order per thread; the destructor drains
// them.
//
// The queue is bounded: when `queue_limit` tasks already wait for a thread, Submit() does not
// queue the task but answers its request at once with 503 and Retry-After (problem+json), so an
// overload turns into quick refusals that clients retry, not into minutes of queueing. Waiting
// reads (min_position) never come here: they wait without a thread (projection::Runner::NotifyAt).
//
// Thread-safety: Submit() from any thread. Lifecycle: the owner destroys the pool after the HTTP
// server has stopped; queued tasks run before the destructor returns.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"
#include "http/problem.h"
#include "http/router.h"

namespace adsd::app {

class BlockingPool {
 public:
  // Tasks that may wait for a thread, per thread, unless the owner says otherwise.
  static constexpr std::size_t kQueuePerThread = 32;

  explicit BlockingPool(int threads, std::size_t queue_limit = 0)
      : queue_limit_(queue_limit != 0 ? queue_limit
                                      : kQueuePerThread * static_cast<std::size_t>(std::max(threads, 1))) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] {
        cqrs::NameThisThread("blocking");
        Run();
      });
  }
  ~BlockingPool() {
    {
      cqrs::MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.SignalAll();
    for (auto& t : threads_) t.join();
  }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `task` on a pool thread, or sheds it: answers `respond` with 503 + Retry-After and drops
  // `task` (which must then not be the only owner of anything that needs running).
  void Submit(const http::Responder& respond, std::function<void()> task) {
    {
      cqrs::MutexLock lock(mu_);
      if (tasks_.size() < queue_limit_) {
        tasks_.push_back(std::move(task));
        cv_.Signal();
        return;
      }
    }
    respond(http::Overloaded("the server's queue of waiting request steps is full (" + std::to_string(queue_limit_) +
                             " requests); retry shortly"));
  }

  // The same for callers that answer a refusal themselves: false (and `task` dropped) when full.
  [[nodiscard]] bool TrySubmit(std::function<void()> task) {
    cqrs::MutexLock lock(mu_);
    if (tasks_.size() >= queue_limit_) return false;
    tasks_.push_back(std::move(task));
    cv_.Signal();
    return true;
  }

  std::size_t queue_limit() const { return queue_limit_; }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        cqrs::MutexLock lock(mu_);
        while (!stopping_ && tasks_.empty()) cv_.Wait(mu_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  const std::size_t queue_limit_;
  cqrs::Mutex mu_;
  cqrs::CondVar cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace adsd::app
