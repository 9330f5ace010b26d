// QueryIndex: tag -> positions and type -> positions, ascending, for Read(query) and append
// conditions without scanning the log.
//
// Built like the StreamIndex: rebuilt while the log is opened, then kept up to date as appends are
// staged (staged events included, so that a condition sees an append that is not durable yet;
// readers pass the durable head as `limit`). The cost of a lookup grows with the postings of the
// query's rarest tag (or of its types), never with the log.
// Not thread-safe: EmbeddedEventStore guards it with its mutex.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/types.h"
#include "cqrs/store/query.h"

namespace cqrs {

class QueryIndex {
 public:
  // Every event's type and each of its tags; positions in increasing order per key.
  void AddType(Position position, std::string_view type);
  void AddTag(Position position, std::string_view tag);

  // The first position in (after, limit] of an event matching `query`, or 0.
  Position FirstMatch(const Query& query, Position after, Position limit) const;

  // Positions in (after, limit] of events matching `query`, ascending, at most `max`.
  std::vector<Position> Matching(const Query& query, Position after, Position limit, std::size_t max) const;

  std::size_t tag_count() const { return tags_.size(); }

 private:
  using Postings = std::vector<Position>;
  using Map = absl::flat_hash_map<std::string, Postings>;

  static const Postings* Find(const Map& map, std::string_view key);
  // Positions of one item in (after, limit], ascending, at most max.
  std::vector<Position> MatchItem(const QueryItem& item, Position after, Position limit, std::size_t max) const;
  bool HasType(const QueryItem& item, Position p) const;

  // Debian's Abseil has its own string_view type: keys convert through absl::string_view.
  Map tags_;
  Map types_;
};

}  // namespace cqrs
