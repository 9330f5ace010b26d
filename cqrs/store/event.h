// Events as the store's users see them: EventData to append, RecordedEvent read back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cqrs/core/sha256.h"
#include "cqrs/core/types.h"
#include "cqrs/core/uuid.h"

namespace cqrs {

// An event to append. The store fills in stream, version, position and hash.
struct EventData {
  Uuid event_id;     // chosen by the caller; re-appending the same id is idempotent
  std::string type;  // "AdSubmitted"
  std::uint32_t schema_version = 1;
  std::string payload;   // opaque bytes (JSON in adsd)
  std::string metadata;  // opaque bytes
  Uuid correlation_id;
  Uuid causation_id;
  TimestampUs timestamp_us = 0;  // 0: the store stamps the time of the append
  // What queries and append conditions find the event by (query.h): at most kMaxTagsPerEvent,
  // each 1..kMaxTagBytes of UTF-8. Stored in the clear: never put content to be erased in one.
  std::vector<std::string> tags;
};

struct RecordedEvent {
  Uuid event_id;
  std::string stream;
  StreamVersion version;  // 1 for the stream's first event
  Position position;      // global, 1 for the log's first event
  std::string type;
  std::uint32_t schema_version = 1;
  TimestampUs timestamp_us = 0;
  Uuid correlation_id;
  Uuid causation_id;
  std::string metadata;
  std::string payload;
  Sha256Digest hash{};            // the record's link in the log's hash chain
  std::vector<std::string> tags;  // as appended, in the same order
};

}  // namespace cqrs
