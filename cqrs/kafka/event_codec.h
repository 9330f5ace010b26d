// The bus message of one recorded event: a versioned, length-prefixed binary envelope.
//
//   u8 format (1) | u64 position | str stream | u64 version | 16 event_id | str type
//   | u32 schema_version | i64 timestamp_us | 16 correlation_id | 16 causation_id
//   | str metadata | str payload | 32 hash          (integers big-endian, str = u32 length + bytes)
//
// Binary, not JSON: payload and metadata are opaque bytes. Decoding never trusts a length: a
// message from a foreign producer or a damaged one is kCorruption, never a crash (fuzzed:
// event_codec_fuzz.cc).
#pragma once

#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace cqrs::kafka {

std::string EncodeEvent(const RecordedEvent& e);
Result<RecordedEvent> DecodeEvent(std::string_view bytes);

}  // namespace cqrs::kafka
