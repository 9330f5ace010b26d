// What every background loop of the engine (the bus relay, the PostgreSQL projection runner)
// needs beside its work: its health, set by the loop and read by anyone (readiness, metrics), and
// a pause between attempts that ends early once the loop is asked to stop.
//
// Thread-safety: LoopStatus from any thread; PauseUnlessStopped on the loop's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"

namespace cqrs {

class LoopStatus {
 public:
  Status Get() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return status_;
  }
  void Set(Status st) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    status_ = std::move(st);
  }

 private:
  mutable Mutex mu_;
  Status status_ GUARDED_BY(mu_);
};

// Sleeps `d`, in steps of 20 ms so that a stop is seen within one step.
inline void PauseUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  for (auto until = std::chrono::steady_clock::now() + d; !stop.load() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace cqrs
