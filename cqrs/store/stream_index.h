// StreamIndex: stream name -> the positions and event ids of its events, in version order.
//
// Holds staged (not yet durable) events too: version checks must see them, or two concurrent
// appends could both pass an exact-version check. Readers filter by the durable head.
// Not thread-safe: EmbeddedEventStore guards it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cqrs/core/types.h"
#include "cqrs/core/uuid.h"

namespace cqrs {

class StreamIndex {
 public:
  struct Entry {
    Position position;
    Uuid event_id;
  };

  // Entries of `stream`, version v at index v-1; nullptr for an unknown stream.
  const std::vector<Entry>* Find(std::string_view stream) const {
    auto it = streams_.find(stream);
    return it == streams_.end() ? nullptr : &it->second;
  }

  void Add(std::string_view stream, Position position, const Uuid& event_id) {
    auto it = streams_.find(stream);
    if (it == streams_.end()) it = streams_.emplace(std::string(stream), std::vector<Entry>{}).first;
    it->second.push_back({position, event_id});
  }

  std::size_t stream_count() const { return streams_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<Entry>, Hash, std::equal_to<>> streams_;
};

}  // namespace cqrs
