#include "cqrs/consumer/keyed_lanes.h"

#include <algorithm>

#include "cqrs/core/thread_name.h"

namespace cqrs::consumer {

KeyedLanes::KeyedLanes(int lanes, std::size_t max_in_flight) : max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  for (int i = 0; i < std::max(1, lanes); ++i) {
    threads_.emplace_back([this] {
      NameThisThread("lane");
      Run();
    });
  }
}

KeyedLanes::~KeyedLanes() { Stop(); }

void KeyedLanes::Stop() {
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  changed_.SignalAll();
  runnable_.SignalAll();
  for (auto& t : threads_) t.join();
}

bool KeyedLanes::Admit(Ticket ticket, std::string_view key) {
  MutexLock lock(mu_);
  while (!stopped_ && in_flight_.size() >= max_in_flight_) changed_.Wait(mu_);
  if (stopped_) return false;
  in_flight_.push_back({ticket.value(), false, false, std::string(key)});
  return true;
}

bool KeyedLanes::Dispatch(Ticket ticket, std::string_view key, Work work) {
  if (!Admit(ticket, key)) return false;
  {
    MutexLock lock(mu_);
    queue_.push_back({ticket.value(), std::string(key), std::move(work)});
  }
  runnable_.Signal();
  return true;
}

bool KeyedLanes::Skip(Ticket ticket) {
  if (!Admit(ticket, {})) return false;
  Done(ticket);
  return true;
}

KeyedLanes::Entry* KeyedLanes::Find(std::uint64_t ticket) {
  auto it = std::lower_bound(in_flight_.begin(), in_flight_.end(), ticket,
                             [](const Entry& e, std::uint64_t t) { return e.ticket < t; });
  return it == in_flight_.end() || it->ticket != ticket ? nullptr : &*it;
}

void KeyedLanes::Retry(Ticket ticket, Clock::time_point not_before, Work work) {
  {
    MutexLock lock(mu_);
    const Entry* e = Find(ticket.value());
    if (stopped_ || e == nullptr || e->done) return;
    delayed_.push_back({not_before, {ticket.value(), e->key, std::move(work)}});
  }
  runnable_.Signal();  // a waiting lane recomputes how long to sleep
}

void KeyedLanes::Done(Ticket ticket) {
  // Done() runs on store callback threads, often for a whole group commit in a row: it wakes a
  // lane only when there is queued work a freed key may unblock.
  bool wake_lane = false;
  {
    MutexLock lock(mu_);
    Entry* e = Find(ticket.value());
    if (e == nullptr || e->done) return;
    e->done = true;
    if (e->owns_key) {
      busy_.erase(e->key);
      e->owns_key = false;
      wake_lane = !queue_.empty();
    }
    while (!in_flight_.empty() && in_flight_.front().done) {
      watermark_ = in_flight_.front().ticket;
      in_flight_.pop_front();
    }
  }
  changed_.SignalAll();
  if (wake_lane) runnable_.Signal();  // the key's next item may run now
}

Ticket KeyedLanes::watermark() const {
  MutexLock lock(mu_);
  return Ticket(watermark_);
}

std::size_t KeyedLanes::in_flight() const {
  MutexLock lock(mu_);
  return in_flight_.size();
}

bool KeyedLanes::WaitFor(Ticket t, Clock::time_point deadline) const {
  MutexLock lock(mu_);
  while (!stopped_ && watermark_ < t.value()) {
    if (!changed_.WaitUntil(mu_, deadline)) break;
  }
  return watermark_ >= t.value();
}

bool KeyedLanes::Take(Item& out) {
  const auto now = Clock::now();
  for (auto it = delayed_.begin(); it != delayed_.end(); ++it) {
    if (it->not_before <= now) {
      out = std::move(it->item);
      delayed_.erase(it);
      return true;
    }
  }
  // The oldest item whose key is free. Every item of a busy key is skipped, so a key's items
  // still start in queue order.
  const std::size_t limit = std::min(queue_.size(), kScanLimit);
  for (std::size_t i = 0; i < limit; ++i) {
    if (busy_.contains(queue_[i].key)) continue;
    auto pick = queue_.begin() + static_cast<std::ptrdiff_t>(i);
    out = std::move(*pick);
    queue_.erase(pick);
    busy_.insert(out.key);
    if (Entry* e = Find(out.ticket)) e->owns_key = true;
    return true;
  }
  return false;
}

void KeyedLanes::Run() {
  MutexLock lock(mu_);
  while (!stopped_) {
    Item item;
    if (Take(item)) {
      lock.Unlock();
      item.work();
      item = Item();  // the work's captures go before the lock is taken again
      lock.Lock();
      continue;
    }
    if (delayed_.empty()) {
      runnable_.Wait(mu_);
    } else {
      auto next = delayed_.front().not_before;
      for (const auto& d : delayed_) next = std::min(next, d.not_before);
      runnable_.WaitUntil(mu_, next);
    }
  }
}

}  // namespace cqrs::consumer
