#include "cqrs/store/query.h"

#include <algorithm>
#include <cstdint>

namespace cqrs {

namespace {

// Well-formed UTF-8 (no overlong forms, no surrogates) without C0 controls or DEL: a tag is
// stored as text by PostgreSQL and printed in conflict messages.
bool IsCleanUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

Status ValidateTag(std::string_view tag) {
  if (tag.empty()) return InvalidArgument("tag: must not be empty");
  if (tag.size() > kMaxTagBytes) {
    return InvalidArgument("tag: longer than " + std::to_string(kMaxTagBytes) + " bytes");
  }
  if (!IsCleanUtf8(tag)) return InvalidArgument("tag: must be UTF-8 without control characters");
  return Status::Ok();
}

Status ValidateQuery(const Query& query) {
  if (query.items.empty()) return InvalidArgument("query: at least one item is required");
  if (query.items.size() > kMaxQueryItems) {
    return InvalidArgument("query: more than " + std::to_string(kMaxQueryItems) + " items");
  }
  for (const QueryItem& item : query.items) {
    if (item.types.empty() && item.tags.empty()) {
      return InvalidArgument("query: an item names neither a type nor a tag (it would match every event)");
    }
    if (item.tags.size() > kMaxTagsPerItem) {
      return InvalidArgument("query: an item has more than " + std::to_string(kMaxTagsPerItem) + " tags");
    }
    if (item.types.size() > kMaxTypesPerItem) {
      return InvalidArgument("query: an item has more than " + std::to_string(kMaxTypesPerItem) + " types");
    }
    for (const std::string& tag : item.tags) RETURN_IF_ERROR(ValidateTag(tag));
    for (const std::string& type : item.types) {
      if (type.empty() || type.size() > 255) return InvalidArgument("query: a type must be 1..255 bytes");
    }
  }
  return Status::Ok();
}

bool Matches(const QueryItem& item, std::string_view type, const std::vector<std::string>& tags) {
  if (!item.types.empty() && std::find(item.types.begin(), item.types.end(), type) == item.types.end()) return false;
  return std::all_of(item.tags.begin(), item.tags.end(),
                     [&](const std::string& want) { return std::find(tags.begin(), tags.end(), want) != tags.end(); });
}

bool Matches(const Query& query, std::string_view type, const std::vector<std::string>& tags) {
  return std::any_of(query.items.begin(), query.items.end(),
                     [&](const QueryItem& item) { return Matches(item, type, tags); });
}

}  // namespace cqrs
