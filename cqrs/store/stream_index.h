// StreamIndex: stream name -> the positions and event ids of its events, in version order.
//
// Holds staged (not yet durable) events too: version checks must see them, or two concurrent
// appends could both pass an exact-version check. Readers filter by the durable head.
// Not thread-safe: EmbeddedEventStore guards it.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <optional>
#include <string>
#include <string_view>
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
    auto it = streams_.find(absl::string_view(stream.data(), stream.size()));
    return it == streams_.end() ? nullptr : &it->second;
  }

  void Add(std::string_view stream, Position position, const Uuid& event_id) {
    auto it = streams_.find(absl::string_view(stream.data(), stream.size()));
    if (it == streams_.end()) it = streams_.try_emplace(std::string(stream)).first;
    it->second.push_back({position, event_id});
  }

  std::size_t stream_count() const { return streams_.size(); }

 private:
  // Debian's Abseil has its own string_view type, hence the absl::string_view conversions.
  // Open addressing with inline control bytes: one cache miss per lookup in the common case,
  // which is what bounds rebuilding the index while the log is opened.
  absl::flat_hash_map<std::string, std::vector<Entry>> streams_;
};

}  // namespace cqrs
