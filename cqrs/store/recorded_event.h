// The store's view of a log record: a RecordedEvent owning copies of the record's fields. Shared
// by the embedded store and the read-only log snapshot.
#pragma once

#include "cqrs/log/record.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/store/event.h"

namespace cqrs {

inline RecordedEvent ToRecorded(const log::RecordView& v) {
  RecordedEvent e;
  e.event_id = v.event_id;
  e.stream.assign(v.stream);
  e.version = v.version;
  e.position = v.position;
  e.type.assign(v.type);
  e.schema_version = v.schema_version;
  e.timestamp_us = v.timestamp_us;
  e.correlation_id = v.correlation_id;
  e.causation_id = v.causation_id;
  e.metadata.assign(v.metadata);
  e.payload.assign(v.payload);
  e.hash = v.hash;
  e.tags = log::DecodeTags(v.tag_block);
  return e;
}

}  // namespace cqrs
