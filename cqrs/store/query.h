// Queries over tags and types, and the condition of a conditional append (Dynamic Consistency
// Boundaries: the consistency boundary of a decision is the set of events a query matches, not
// one stream).
//
// An event matches a QueryItem when its type is one of the item's types (or the item names no
// type) and it carries every one of the item's tags (or the item names no tag). An event matches
// a Query when it matches any of its items. An item names at least one type or tag.
//
// A conditional append fails when any event matching the condition's query has a position after
// `after`: "nothing I have not seen has changed what I decided on". The usual pattern reads with
// EventStore::Read(query, ...), decides, and appends with {query, result.head}.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs {

// Limits, enforced on every backend with kInvalidArgument (nothing is appended).
inline constexpr std::size_t kMaxTagsPerEvent = 16;
inline constexpr std::size_t kMaxTagBytes = 128;  // a tag is 1..128 bytes of UTF-8, no control characters
inline constexpr std::size_t kMaxQueryItems = 16;
inline constexpr std::size_t kMaxTagsPerItem = 8;
inline constexpr std::size_t kMaxTypesPerItem = 16;
inline constexpr std::size_t kMaxStreamsPerAppend = 64;

struct QueryItem {
  std::vector<std::string> types;  // any of these (empty: any type)
  std::vector<std::string> tags;   // all of these (empty: no tag required)
};

struct Query {
  std::vector<QueryItem> items;  // any of these; at least one

  // The events carrying every one of `tags`, whatever their type.
  static Query AllOf(std::vector<std::string> tags) { return Query{{QueryItem{{}, std::move(tags)}}}; }
};

struct AppendCondition {
  Query query;
  // The append fails if an event matching `query` has a position > after. 0: if any exists at
  // all. Must not be past the store's head (a position nobody can have read).
  Position after;
};

// Ok, or kInvalidArgument naming what is wrong with one tag.
Status ValidateTag(std::string_view tag);
// Ok, or kInvalidArgument: no item, an empty item, too many items, tags or types, a bad tag.
Status ValidateQuery(const Query& query);

// Whether an event of `type` carrying `tags` matches `item` / `query`.
bool Matches(const QueryItem& item, std::string_view type, const std::vector<std::string>& tags);
bool Matches(const Query& query, std::string_view type, const std::vector<std::string>& tags);

}  // namespace cqrs
