#include "cqrs/store/query_index.h"

#include <algorithm>

namespace cqrs {

namespace {

void Push(absl::flat_hash_map<std::string, std::vector<Position>>& map, std::string_view key, Position p) {
  const absl::string_view k(key.data(), key.size());
  auto it = map.find(k);
  if (it == map.end()) it = map.try_emplace(std::string(key)).first;
  it->second.push_back(p);
}

bool Contains(const std::vector<Position>& postings, Position p) {
  return std::binary_search(postings.begin(), postings.end(), p);
}

}  // namespace

void QueryIndex::AddType(Position position, std::string_view type) { Push(types_, type, position); }
void QueryIndex::AddTag(Position position, std::string_view tag) { Push(tags_, tag, position); }

const QueryIndex::Postings* QueryIndex::Find(const Map& map, std::string_view key) {
  auto it = map.find(absl::string_view(key.data(), key.size()));
  return it == map.end() ? nullptr : &it->second;
}

bool QueryIndex::HasType(const QueryItem& item, Position p) const {
  if (item.types.empty()) return true;
  return std::any_of(item.types.begin(), item.types.end(), [&](const std::string& t) {
    const Postings* list = Find(types_, t);
    return list != nullptr && Contains(*list, p);
  });
}

std::vector<Position> QueryIndex::MatchItem(const QueryItem& item, Position after, Position limit,
                                            std::size_t max) const {
  std::vector<Position> out;
  if (item.tags.empty()) {
    // Types only: merge the types' postings (a type named twice counts once).
    for (const std::string& t : item.types) {
      const Postings* list = Find(types_, t);
      if (list == nullptr) continue;
      auto it = std::upper_bound(list->begin(), list->end(), after);
      std::size_t taken = 0;
      for (; it != list->end() && *it <= limit && taken < max; ++it, ++taken) out.push_back(*it);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (out.size() > max) out.resize(max);
    return out;
  }
  // Walk the rarest tag's postings; check the other tags and the types by binary search.
  std::vector<const Postings*> lists;
  for (const std::string& tag : item.tags) {
    const Postings* list = Find(tags_, tag);
    if (list == nullptr) return out;  // a tag nobody carries: nothing matches the item
    lists.push_back(list);
  }
  std::sort(lists.begin(), lists.end(), [](const Postings* a, const Postings* b) { return a->size() < b->size(); });
  const Postings& rarest = *lists.front();
  for (auto it = std::upper_bound(rarest.begin(), rarest.end(), after);
       it != rarest.end() && *it <= limit && out.size() < max; ++it) {
    const Position p = *it;
    const bool all = std::all_of(lists.begin() + 1, lists.end(), [&](const Postings* l) { return Contains(*l, p); });
    if (all && HasType(item, p)) out.push_back(p);
  }
  return out;
}

std::vector<Position> QueryIndex::Matching(const Query& query, Position after, Position limit, std::size_t max) const {
  std::vector<Position> out;
  for (const QueryItem& item : query.items) {
    std::vector<Position> part = MatchItem(item, after, limit, max);
    out.insert(out.end(), part.begin(), part.end());
  }
  // Each item's first `max` hold the union's first `max`.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > max) out.resize(max);
  return out;
}

Position QueryIndex::FirstMatch(const Query& query, Position after, Position limit) const {
  const std::vector<Position> first = Matching(query, after, limit, 1);
  return first.empty() ? Position(0) : first.front();
}

}  // namespace cqrs
