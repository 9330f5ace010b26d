// SparseIndex: position -> byte offset for one segment, one entry per few KiB of records.
//
// A lookup returns the last entry at or before the wanted position; the reader scans forward from
// there, so a lookup costs a binary search plus at most `interval` bytes of reading.
// Not thread-safe by itself: the Log guards it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cqrs/core/types.h"

namespace cqrs::log {

class SparseIndex {
 public:
  struct Entry {
    Position position;
    std::uint64_t offset;
  };

  explicit SparseIndex(std::uint32_t interval_bytes = 4096) : interval_(interval_bytes) {}

  // Notes a record; keeps it if it starts at least `interval` bytes after the last kept one.
  void Add(Position position, std::uint64_t offset) {
    if (entries_.empty() || offset - entries_.back().offset >= interval_) {
      entries_.push_back({position, offset});
    }
  }

  // Offset of the last entry at or before `p`; `fallback` if there is none.
  std::uint64_t Seek(Position p, std::uint64_t fallback) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), p,
                               [](Position v, const Entry& e) { return v < e.position; });
    if (it == entries_.begin()) return fallback;
    return std::prev(it)->offset;
  }

  std::size_t size() const { return entries_.size(); }

 private:
  std::uint32_t interval_;
  std::vector<Entry> entries_;
};

}  // namespace cqrs::log
