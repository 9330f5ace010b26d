// PositionWaiters: callbacks waiting for a runner's position, with deadlines, on one thread.
//
// A read-your-writes read ("answer once the read model has seen position P, or after T") must
// not hold a thread while it waits: thousands of waiting reads would otherwise fill any pool
// and starve the requests behind them. Here a wait is an entry in an ordered map. The runner
// calls Notify() after each commit; the entries it reached, and the ones whose deadline passed,
// are answered on the registry's own thread (so neither the runner's commit thread nor the
// caller's thread ever runs a callback). The number of entries is bounded: beyond it Add() refuses
// at once, and the caller sheds the request.
//
// Lifecycle: created with the runner, destroyed with it; the destructor answers every entry
// still waiting with `false` before it returns. Thread-safety: every method is safe from any
// thread; callbacks run one at a time on the registry's thread and may call Add() again.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs::projection {

class PositionWaiters {
 public:
  using Clock = std::chrono::steady_clock;
  // Called once: true when the position was reached, false when the deadline passed (or the
  // registry closed) first.
  using Done = std::function<void(bool reached)>;

  // `position` is the runner's committed position (read under the registry's lock, so a Notify()
  // that follows a store of it cannot be missed); it outlives the registry. `capacity` bounds
  // the entries waiting at once.
  PositionWaiters(const std::atomic<std::uint64_t>& position, std::size_t capacity);
  ~PositionWaiters();
  PositionWaiters(const PositionWaiters&) = delete;
  PositionWaiters& operator=(const PositionWaiters&) = delete;

  // Registers `done` for position `p` and `deadline`. Never blocks and never calls `done` on the
  // calling thread. kUnavailable (and `done` is never called) when `capacity` entries wait already
  // or the registry is closing.
  Status Add(Position p, Clock::time_point deadline, Done done);
  // The runner's position moved: answers the entries it reached. Cheap when none did.
  void Notify();
  // Entries waiting now (for metrics and tests).
  std::size_t waiting() const;

 private:
  struct Entry {
    std::uint64_t position;
    Clock::time_point deadline;
    Done done;
  };
  // Shared by the registry and its thread: when the last reference to a runner is dropped by a
  // callback (on the registry's own thread), the destructor cannot join that thread; it detaches
  // it instead, and the thread finishes with this state alone.
  struct State {
    State(const std::atomic<std::uint64_t>& p, std::size_t c) : position(p), capacity(c) {}
    const std::atomic<std::uint64_t>& position;  // read only while !closing
    const std::size_t capacity;
    mutable Mutex mu;
    CondVar wake;
    // Entries by id; two indexes over them: by position (what Notify answers) and by deadline.
    std::map<std::uint64_t, Entry> entries GUARDED_BY(mu);
    std::multimap<std::uint64_t, std::uint64_t> by_position GUARDED_BY(mu);      // position -> id
    std::multimap<Clock::time_point, std::uint64_t> by_deadline GUARDED_BY(mu);  // deadline -> id
    std::vector<std::pair<Done, bool>> ready GUARDED_BY(mu);                     // to call on the thread
    std::uint64_t next_id GUARDED_BY(mu) = 0;
    bool closing GUARDED_BY(mu) = false;
  };
  static void Run(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace cqrs::projection
