// The bus message of one event: a CloudEvent in the Kafka protocol binding's binary content mode
// (CloudEvents 1.0), so that any Kafka client reads it without libcqrs. docs/kafka-format.md is
// the format's document; this header is its one implementation, shared by writer and reader.
//
//   key    the stream                      value  the payload, as is
//   ce_specversion "1.0"   ce_id event id   ce_source   ce_type   ce_time (RFC 3339, UTC, µs)
//   ce_subject the stream  content-type     ce_schemaversion
//   extensions, each absent when the event has none: ce_position, ce_streamversion, ce_hash
//   (64 hex digits), ce_correlationid, ce_causationid (UUIDs), ce_metadata (base64)
//
// An event that is not yet in the store (a submission published before it is stored) has no
// position, stream version or hash: EncodeSubmission() leaves those attributes out, and
// DecodeEvent() gives it back with Position(0), StreamVersion(0) and a zero hash.
//
// Decoding never trusts its input: a message that is not one of ours (no CloudEvents headers, a
// different spec version, an id that is not a UUID, a bad time or extension, an attribute twice)
// is kCorruption, never a crash (fuzzed: event_codec_fuzz.cc). Attributes it does not know are
// ignored, as the spec asks of consumers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace cqrs::kafka {

struct BusHeader {
  std::string name;
  std::string value;
  bool operator==(const BusHeader&) const = default;
};

// What a producer needs to send one event.
struct BusMessage {
  std::string key;                 // the stream: its events share a partition and stay in order
  std::string value;               // the payload
  std::vector<BusHeader> headers;  // the CloudEvents attributes and content-type
  std::int64_t timestamp_ms = 0;   // the message's timestamp: the event's time
};

// The producer's side of the attributes, the same for every event it sends.
struct CloudEventSource {
  std::string source = "/cqrs";                           // ce_source, a URI reference
  std::string content_type = "application/octet-stream";  // the payload's media type
};

// A stored event: every attribute it has (position, stream version, hash when set).
BusMessage EncodeEvent(const RecordedEvent& e, const CloudEventSource& source = {});
// An event not yet stored, e.g. a submission sent to the bus before the store has it: no
// position or hash; `version` is the stream version it is meant to get, if known (0: absent).
// The time is e.timestamp_us (0: now).
BusMessage EncodeSubmission(std::string_view stream, const EventData& e, const CloudEventSource& source = {},
                            StreamVersion version = StreamVersion(0));

// The event a message carries. The stream is ce_subject (the key is not needed). Attributes
// left out come back as zero: Position(0), StreamVersion(0), a zero hash, nil ids, no metadata.
Result<RecordedEvent> DecodeEvent(std::span<const BusHeader> headers, std::string_view value);

}  // namespace cqrs::kafka
