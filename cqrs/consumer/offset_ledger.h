// OffsetLedger: which source offset each ticket of a consumer came from, so that the
// dispatcher's watermark (a ticket) turns into what the source commits (its own offsets: a
// position in the event store's global order, a (partition, offset) pair on Kafka).
//
// Record() in ticket order as events are taken; Settle(watermark, f) hands every recorded offset
// at or below the watermark to `f`, oldest first, and forgets it. A ticket recorded after the
// watermark already passed it is settled by the next call.
//
// Thread-safety: none; the owner serializes (one source thread, or its own mutex).
#pragma once

#include <deque>
#include <utility>

#include "cqrs/consumer/keyed_lanes.h"

namespace cqrs::consumer {

template <typename Offset>
class OffsetLedger {
 public:
  void Record(Ticket ticket, Offset offset) { entries_.emplace_back(ticket, std::move(offset)); }

  template <typename F>
  void Settle(Ticket watermark, F&& f) {
    while (!entries_.empty() && entries_.front().first <= watermark) {
      f(entries_.front().second);
      entries_.pop_front();
    }
  }

  // Forgets every entry (its events will never be committed by this consumer).
  void Clear() { entries_.clear(); }
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::deque<std::pair<Ticket, Offset>> entries_;
};

}  // namespace cqrs::consumer
