#include "cqrs/core/thread_name.h"
#include "cqrs/projection/keyed_lanes.h"

#include <algorithm>

namespace cqrs::projection {

KeyedLanes::KeyedLanes(int lanes, std::size_t max_in_flight) : max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  for (int i = 0; i < std::max(1, lanes); ++i) threads_.emplace_back([this] {
      NameThisThread("lane");
      Run();
    });
}

KeyedLanes::~KeyedLanes() { Stop(); }

void KeyedLanes::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  changed_.notify_all();
  runnable_.notify_all();
  for (auto& t : threads_) t.join();
}

bool KeyedLanes::Admit(Position position) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return stopped_ || in_flight_.size() < max_in_flight_; });
  if (stopped_) return false;
  in_flight_.emplace_back(position.value(), false);
  return true;
}

bool KeyedLanes::Dispatch(Position position, std::string_view key, Work work) {
  if (!Admit(position)) return false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::string(key), std::move(work)});
  }
  runnable_.notify_one();
  return true;
}

bool KeyedLanes::Skip(Position position) {
  if (!Admit(position)) return false;
  Done(position);
  return true;
}

void KeyedLanes::Done(Position position) {
  {
    std::lock_guard lock(mu_);
    auto it = std::lower_bound(in_flight_.begin(), in_flight_.end(), std::make_pair(position.value(), false));
    if (it == in_flight_.end() || it->first != position.value()) return;
    it->second = true;
    while (!in_flight_.empty() && in_flight_.front().second) {
      watermark_ = in_flight_.front().first;
      in_flight_.pop_front();
    }
  }
  changed_.notify_all();
}

Position KeyedLanes::watermark() const {
  std::lock_guard lock(mu_);
  return Position(watermark_);
}

std::size_t KeyedLanes::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

bool KeyedLanes::WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return changed_.wait_until(lock, deadline, [&] { return stopped_ || watermark_ >= p.value(); }) &&
         watermark_ >= p.value();
}

void KeyedLanes::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    // The oldest item whose key is free. Every item of a busy key is skipped, so a key's items
    // still start in queue order.
    auto pick = queue_.end();
    runnable_.wait(lock, [&] {
      if (stopped_) return true;
      const std::size_t limit = std::min(queue_.size(), kScanLimit);
      for (std::size_t i = 0; i < limit; ++i) {
        if (!busy_.contains(queue_[i].key)) {
          pick = queue_.begin() + static_cast<std::ptrdiff_t>(i);
          return true;
        }
      }
      return false;
    });
    if (stopped_) return;
    Item item = std::move(*pick);
    queue_.erase(pick);
    busy_.insert(item.key);
    lock.unlock();
    item.work();
    lock.lock();
    busy_.erase(item.key);
    if (!queue_.empty()) runnable_.notify_one();  // an item of this key may have become runnable
  }
}

}  // namespace cqrs::projection
