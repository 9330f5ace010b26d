#include "cqrs/projection/keyed_lanes.h"

#include <algorithm>

namespace cqrs::projection {

KeyedLanes::KeyedLanes(int lanes, std::size_t max_in_flight) : max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  for (int i = 0; i < std::max(1, lanes); ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    Lane& lane = *lanes_.back();
    lane.thread = std::thread([this, &lane] { Run(lane); });
  }
}

KeyedLanes::~KeyedLanes() { Stop(); }

void KeyedLanes::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  changed_.notify_all();
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock(lane->mu);
      lane->stop = true;
    }
    lane->cv.notify_all();
  }
  for (auto& lane : lanes_) lane->thread.join();
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
  Lane& lane = *lanes_[std::hash<std::string_view>{}(key) % lanes_.size()];
  {
    std::lock_guard lock(lane.mu);
    lane.queue.push_back(std::move(work));
  }
  lane.cv.notify_one();
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

void KeyedLanes::Run(Lane& lane) {
  while (true) {
    Work work;
    {
      std::unique_lock lock(lane.mu);
      lane.cv.wait(lock, [&] { return lane.stop || !lane.queue.empty(); });
      if (lane.stop) return;
      work = std::move(lane.queue.front());
      lane.queue.pop_front();
    }
    work();
  }
}

}  // namespace cqrs::projection
