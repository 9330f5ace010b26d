// StreamIndex: stream name -> the positions and event ids of its events, in version order.
//
// Holds staged (not yet durable) events too: version checks must see them, or two concurrent
// appends could both pass an exact-version check. Readers filter by the durable head.
// Not thread-safe: EmbeddedEventStore guards it.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
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
    const absl::string_view key(stream.data(), stream.size());
    const Map& shard = shards_[ShardOf(key)];
    auto it = shard.find(key);
    return it == shard.end() ? nullptr : &it->second;
  }

  void Add(std::string_view stream, Position position, const Uuid& event_id) {
    const absl::string_view key(stream.data(), stream.size());
    Map& shard = shards_[ShardOf(key)];
    auto it = shard.find(key);
    if (it == shard.end()) it = shard.try_emplace(std::string(stream)).first;
    it->second.push_back({position, event_id});
  }

  std::size_t stream_count() const {
    std::size_t n = 0;
    for (const Map& shard : shards_) n += shard.size();
    return n;
  }

 private:
  // Debian's Abseil has its own string_view type, hence the absl::string_view conversions.
  // Open addressing with inline control bytes: one cache miss per lookup in the common case,
  // which is what bounds rebuilding the index while the log is opened.
  using Map = absl::flat_hash_map<std::string, std::vector<Entry>>;
  // A table grows by rehashing everything at once, under the store's lock: with a million
  // streams in one table, that held every append for a few hundred milliseconds. In 64 tables
  // each rehash moves 1/64 of the streams. The shard comes from the hash's top bits; the tables
  // use the low ones.
  static constexpr int kShardBits = 6;
  static std::size_t ShardOf(absl::string_view key) {
    return static_cast<std::size_t>(absl::Hash<absl::string_view>{}(key) >> (64 - kShardBits));
  }
  std::array<Map, std::size_t{1} << kShardBits> shards_;
};

}  // namespace cqrs
