// KeyedLanes: a consumer's concurrency. Work items arrive in log order; items with the same key
// (an event's stream) run one after another, items with different keys run on up to `lanes`
// threads at once. The lanes share one queue and a free lane takes the oldest item whose key is
// not being worked on: no lane idles while another has a queue (hashing keys to fixed lanes
// would make each lane its own queue, and the unlucky ones wait several times as long). A watermark tells the consumer which position it may commit:
// the highest position at and below which every item is done, however the lanes finished.
//
// This is how one consumer process gets the parallelism of many without giving up per-stream
// order or at-least-once delivery: it commits the watermark, so after a crash it redoes at most
// what was in flight, and its effects must be idempotent (they are: see ads::ValidationWorker).
//
// Thread-safety: Dispatch() from one thread (the subscription's); the rest from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cqrs/core/types.h"

namespace cqrs::projection {

class KeyedLanes {
 public:
  // Runs one item; it must eventually call Done(position) (from any thread), or never when it
  // failed (the watermark then stays below it until a restart redoes it).
  using Work = std::function<void()>;

  // `max_in_flight`: Dispatch() blocks while this many items are dispatched but not done.
  KeyedLanes(int lanes, std::size_t max_in_flight);
  ~KeyedLanes();  // Stops the lanes; items not yet started are dropped (they are not done).

  // Queues `work` for `position` on the lane of `key`. Positions must increase. Returns false
  // when stopped.
  bool Dispatch(Position position, std::string_view key, Work work);
  // Marks an item done without running anything (an event this consumer ignores).
  bool Skip(Position position);
  void Done(Position position);

  // Every dispatched position <= watermark is done.
  Position watermark() const;
  std::size_t in_flight() const;
  // Waits until the watermark reaches `p`, or until `deadline`; true if it did.
  bool WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const;
  void Stop();

 private:
  struct Item {
    std::string key;
    Work work;
  };
  // How far a free lane looks past items whose key is busy.
  static constexpr std::size_t kScanLimit = 1024;
  bool Admit(Position position);
  void Run();

  const std::size_t max_in_flight_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::deque<std::pair<std::uint64_t, bool>> in_flight_;  // (position, done), ascending; guarded by mu_
  std::uint64_t watermark_ = 0;                            // guarded by mu_
  bool stopped_ = false;                                   // guarded by mu_
  std::condition_variable runnable_;                       // an item queued or a key freed
  std::deque<Item> queue_;                                 // guarded by mu_
  std::unordered_set<std::string> busy_;                   // keys being worked on; guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace cqrs::projection
