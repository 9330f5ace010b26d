#include "cqrs/projection/position_waiters.h"

#include "cqrs/core/thread_name.h"

namespace cqrs::projection {

PositionWaiters::PositionWaiters(const std::atomic<std::uint64_t>& position, std::size_t capacity)
    : position_(position), capacity_(capacity) {
  thread_ = std::thread([this] {
    NameThisThread("pos-waiters");
    Run();
  });
}

PositionWaiters::~PositionWaiters() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Status PositionWaiters::Add(Position p, Clock::time_point deadline, Done done) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return Unavailable("the read model's runner is stopping");
    if (entries_.size() + ready_.size() >= capacity_) {
      return Unavailable(std::to_string(capacity_) + " reads are waiting for the read model already");
    }
    if (position_.load(std::memory_order_acquire) >= p.value()) {
      ready_.emplace_back(std::move(done), true);
    } else {
      const std::uint64_t id = next_id_++;
      entries_.emplace(id, Entry{p.value(), deadline, std::move(done)});
      by_position_.emplace(p.value(), id);
      by_deadline_.emplace(deadline, id);
    }
  }
  // Also when only a new, earlier deadline arrived: the thread re-arms its timer.
  wake_.notify_one();
  return Status::Ok();
}

void PositionWaiters::Notify() {
  {
    std::lock_guard lock(mu_);
    if (by_position_.empty() || by_position_.begin()->first > position_.load(std::memory_order_acquire)) return;
  }
  wake_.notify_one();
}

std::size_t PositionWaiters::waiting() const {
  std::lock_guard lock(mu_);
  return entries_.size() + ready_.size();
}

void PositionWaiters::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    // Move what is due to ready_: reached positions, then passed deadlines.
    const std::uint64_t at = position_.load(std::memory_order_acquire);
    while (!by_position_.empty() && by_position_.begin()->first <= at) {
      auto e = entries_.find(by_position_.begin()->second);
      for (auto [d, end] = by_deadline_.equal_range(e->second.deadline); d != end; ++d) {
        if (d->second == e->first) {
          by_deadline_.erase(d);
          break;
        }
      }
      ready_.emplace_back(std::move(e->second.done), true);
      entries_.erase(e);
      by_position_.erase(by_position_.begin());
    }
    const auto now = Clock::now();
    while (!by_deadline_.empty() && (closing_ || by_deadline_.begin()->first <= now)) {
      auto e = entries_.find(by_deadline_.begin()->second);
      for (auto [p, end] = by_position_.equal_range(e->second.position); p != end; ++p) {
        if (p->second == e->first) {
          by_position_.erase(p);
          break;
        }
      }
      ready_.emplace_back(std::move(e->second.done), false);
      entries_.erase(e);
      by_deadline_.erase(by_deadline_.begin());
    }
    if (!ready_.empty()) {
      auto batch = std::move(ready_);
      ready_.clear();
      lock.unlock();
      for (auto& [done, reached] : batch) done(reached);
      batch.clear();  // captured state is released off the lock too
      lock.lock();
      continue;
    }
    if (closing_) return;
    // No predicate: every Add() and every due Notify() wakes this thread, and the loop above
    // re-checks everything (a new earlier deadline re-arms the timer). Both signal after taking
    // the lock, so a wake-up between the checks above and this wait cannot be lost.
    if (by_deadline_.empty()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, by_deadline_.begin()->first);
    }
  }
}

}  // namespace cqrs::projection
