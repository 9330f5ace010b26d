// The event envelope as the log stores it: one log record = one event.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cqrs/core/sha256.h"
#include "cqrs/core/types.h"
#include "cqrs/core/uuid.h"

namespace cqrs::log {

// What a writer hands to the log. Position and hash are assigned by the log (RecordView).
struct RecordDraft {
  Uuid event_id;
  std::string_view stream;
  StreamVersion version;
  std::string_view type;
  std::uint32_t schema_version = 1;
  TimestampUs timestamp_us = 0;
  Uuid correlation_id;
  Uuid causation_id;
  std::string_view metadata;
  std::string_view payload;
  // Tags (a query's index keys), written in the optional tag block. Empty for a RecordView:
  // read tags back with DecodeTags(view.tag_block).
  std::span<const std::string> tags;
};

// A record as read back: the draft's fields, and what the log assigned. The string views point
// into a buffer owned by the reader and are valid only until the callback that received the
// view returns.
struct RecordView : RecordDraft {
  Position position;
  // SHA-256(previous record's hash || this record's body without this field).
  Sha256Digest hash{};
  // The encoded tag block (format.h), empty when the record carries no tag.
  std::string_view tag_block;
};

// Limits enforced on append; a record over them is rejected with kInvalidArgument.
inline constexpr std::size_t kMaxStreamBytes = 1024;
inline constexpr std::size_t kMaxTypeBytes = 255;
inline constexpr std::size_t kMaxRecordBytes = 16u << 20;
// The store applies its own, smaller tag limits (cqrs/store/query.h); these are the format's.
inline constexpr std::size_t kMaxRecordTags = 255;
inline constexpr std::size_t kMaxRecordTagBytes = 1024;

}  // namespace cqrs::log
