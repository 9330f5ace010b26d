// KeyedLanes: a consumer's concurrency. Work items arrive in source order, each with a ticket;
// items with the same key (an event's stream) run one after another, items with different keys
// run on up to `lanes` threads at once. The lanes share one queue and a free lane takes the
// oldest item whose key is not owned: no lane idles while another has a queue (hashing keys to
// fixed lanes would make each lane its own queue, and the unlucky ones wait several times as long).
//
// A key is owned from the moment its item starts until Done(ticket), not until the work returns:
// work may finish asynchronously (its effect becomes durable on another thread) and the lane
// thread goes on with other keys meanwhile. Retry() runs an item again later without giving up
// its key, so a key's items still take effect in order.
//
// The watermark tells the consumer what it may commit: the highest ticket at and below which
// every item is done, however the lanes finished. Tickets are the consumer's own dense sequence
// numbers, not a source's offsets (each source maps tickets back to its offsets).
//
// Thread-safety: Dispatch() and Skip() from one thread (the source's); the rest from any thread.
// Lifecycle: lane threads start in the constructor and stop in Stop() or the destructor; items
// not started by then are dropped (never done). Done() after Stop() is harmless.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/core/strong_int.h"

namespace cqrs::consumer {

// A consumer's sequence number for one item taken from its source: 1, 2, 3, ... in source order.
using Ticket = StrongInt<struct TicketTag>;

class KeyedLanes {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs one item; it must eventually call Done(ticket) (from any thread), or never when it
  // failed for good (the watermark then stays below it until a restart redoes it).
  using Work = std::function<void()>;

  // `max_in_flight`: Dispatch() blocks while this many items are dispatched but not done.
  KeyedLanes(int lanes, std::size_t max_in_flight);
  ~KeyedLanes();  // Stop()

  // Queues `work` for `ticket` under `key`. Tickets must increase. Returns false when stopped.
  bool Dispatch(Ticket ticket, std::string_view key, Work work) EXCLUDES(mu_);
  // Marks an item done without running anything (an event this consumer ignores).
  bool Skip(Ticket ticket) EXCLUDES(mu_);
  // Runs a started, not yet done item's `work` again at `not_before` or later; its key stays owned.
  void Retry(Ticket ticket, Clock::time_point not_before, Work work) EXCLUDES(mu_);
  // The item's effect is done: it counts for the watermark and its key is free.
  void Done(Ticket ticket) EXCLUDES(mu_);

  // Every dispatched ticket <= watermark is done.
  Ticket watermark() const EXCLUDES(mu_);
  std::size_t in_flight() const EXCLUDES(mu_);
  // Waits until the watermark reaches `t`, or until `deadline` or Stop(); true if it did.
  bool WaitFor(Ticket t, Clock::time_point deadline) const EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);

 private:
  struct Item {
    std::uint64_t ticket = 0;
    std::string key;
    Work work;
  };
  struct Delayed {
    Clock::time_point not_before;
    Item item;
  };
  struct Entry {  // one admitted ticket
    std::uint64_t ticket;
    bool done = false;
    bool owns_key = false;  // started and not done: `key` is in busy_
    std::string key;
  };
  // How far a free lane looks past items whose key is busy.
  static constexpr std::size_t kScanLimit = 1024;
  bool Admit(Ticket ticket, std::string_view key) EXCLUDES(mu_);
  Entry* Find(std::uint64_t ticket) REQUIRES(mu_);
  // The next item a lane may run (a due retry first, then the oldest with a free key).
  bool Take(Item& out) REQUIRES(mu_);
  void Run() EXCLUDES(mu_);

  const std::size_t max_in_flight_;

  mutable Mutex mu_;
  mutable CondVar changed_;                      // the watermark moved, room freed, or stopped
  CondVar runnable_;                             // an item queued, a key freed, a retry scheduled
  std::deque<Entry> in_flight_ GUARDED_BY(mu_);  // ascending tickets
  std::uint64_t watermark_ GUARDED_BY(mu_) = 0;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::deque<Item> queue_ GUARDED_BY(mu_);                // not started yet
  std::vector<Delayed> delayed_ GUARDED_BY(mu_);          // retries, their keys owned
  std::unordered_set<std::string> busy_ GUARDED_BY(mu_);  // keys owned by a started item

  // Written by the constructor, joined by the first Stop() (the one that sets stopped_).
  std::vector<std::thread> threads_;
};

}  // namespace cqrs::consumer
