#include "cqrs/projection/position_waiters.h"

#include "cqrs/core/thread_name.h"

namespace cqrs::projection {

PositionWaiters::PositionWaiters(const std::atomic<std::uint64_t>& position, std::size_t capacity)
    : state_(std::make_shared<State>(position, capacity)) {
  thread_ = std::thread([state = state_] {
    NameThisThread("pos-waiters");
    Run(state);
  });
}

PositionWaiters::~PositionWaiters() {
  {
    MutexLock lock(state_->mu);
    state_->closing = true;
  }
  state_->wake.SignalAll();
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // a callback dropped the runner: the thread ends after it, on its own
  } else {
    thread_.join();
  }
}

Status PositionWaiters::Add(Position p, Clock::time_point deadline, Done done) {
  State& s = *state_;
  {
    MutexLock lock(s.mu);
    if (s.closing) return Unavailable("the read model's runner is stopping");
    if (s.entries.size() + s.ready.size() >= s.capacity) {
      return Unavailable(std::to_string(s.capacity) + " reads are waiting for the read model already");
    }
    if (s.position.load(std::memory_order_acquire) >= p.value()) {
      s.ready.emplace_back(std::move(done), true);
    } else {
      const std::uint64_t id = s.next_id++;
      s.entries.emplace(id, Entry{p.value(), deadline, std::move(done)});
      s.by_position.emplace(p.value(), id);
      s.by_deadline.emplace(deadline, id);
    }
  }
  // Also when only a new, earlier deadline arrived: the thread re-arms its timer.
  s.wake.Signal();
  return Status::Ok();
}

void PositionWaiters::Notify() {
  State& s = *state_;
  {
    MutexLock lock(s.mu);
    if (s.by_position.empty() || s.by_position.begin()->first > s.position.load(std::memory_order_acquire)) return;
  }
  s.wake.Signal();
}

std::size_t PositionWaiters::waiting() const {
  MutexLock lock(state_->mu);
  return state_->entries.size() + state_->ready.size();
}

void PositionWaiters::Run(const std::shared_ptr<State>& state) {
  State& s = *state;
  MutexLock lock(s.mu);
  while (true) {
    // Move what is due to `ready`: reached positions, then passed deadlines (all, when closing).
    const std::uint64_t at = s.closing ? 0 : s.position.load(std::memory_order_acquire);
    while (!s.by_position.empty() && s.by_position.begin()->first <= at) {
      auto e = s.entries.find(s.by_position.begin()->second);
      for (auto [d, end] = s.by_deadline.equal_range(e->second.deadline); d != end; ++d) {
        if (d->second == e->first) {
          s.by_deadline.erase(d);
          break;
        }
      }
      s.ready.emplace_back(std::move(e->second.done), true);
      s.entries.erase(e);
      s.by_position.erase(s.by_position.begin());
    }
    const auto now = Clock::now();
    while (!s.by_deadline.empty() && (s.closing || s.by_deadline.begin()->first <= now)) {
      auto e = s.entries.find(s.by_deadline.begin()->second);
      for (auto [p, end] = s.by_position.equal_range(e->second.position); p != end; ++p) {
        if (p->second == e->first) {
          s.by_position.erase(p);
          break;
        }
      }
      s.ready.emplace_back(std::move(e->second.done), false);
      s.entries.erase(e);
      s.by_deadline.erase(s.by_deadline.begin());
    }
    if (!s.ready.empty()) {
      auto batch = std::move(s.ready);
      s.ready.clear();
      lock.Unlock();
      for (auto& [done, reached] : batch) done(reached);
      batch.clear();  // captured state is released off the lock too
      lock.Lock();
      continue;
    }
    if (s.closing) return;
    // No predicate: every Add() and every due Notify() wakes this thread, and the loop above
    // re-checks everything (a new earlier deadline re-arms the timer). Both signal after taking
    // the lock, so a wake-up between the checks above and this wait cannot be lost.
    if (s.by_deadline.empty()) {
      s.wake.Wait(s.mu);
    } else {
      s.wake.WaitUntil(s.mu, s.by_deadline.begin()->first);
    }
  }
}

}  // namespace cqrs::projection
