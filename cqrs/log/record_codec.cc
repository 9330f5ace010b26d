#include "cqrs/log/record_codec.h"

#include "cqrs/core/crc32c.h"
#include "cqrs/log/format.h"

namespace cqrs::log {

using namespace format;  // NOLINT: the format constants read best unqualified here

std::size_t EncodedSize(const RecordDraft& d) {
  return kFrameBytes + kFixedBodyBytes + d.stream.size() + d.type.size() + d.metadata.size() + d.payload.size() +
         kHashBytes;
}

Status ValidateDraft(const RecordDraft& d) {
  if (d.stream.empty()) return InvalidArgument("stream: must not be empty");
  if (d.stream.size() > kMaxStreamBytes) return InvalidArgument("stream: longer than 1024 bytes");
  if (d.type.empty()) return InvalidArgument("type: must not be empty");
  if (d.type.size() > kMaxTypeBytes) return InvalidArgument("type: longer than 255 bytes");
  if (EncodedSize(d) > kMaxRecordBytes) return InvalidArgument("record: larger than 16 MiB");
  return Status::Ok();
}

Sha256Digest EncodeRecord(const RecordDraft& d, Position position, const Sha256Digest& prev_hash, std::string& out) {
  const std::size_t start = out.size();
  const std::size_t body_len = EncodedSize(d) - kFrameBytes;
  out.resize(start + kFrameBytes + body_len);
  char* frame = out.data() + start;
  char* b = frame + kFrameBytes;

  Store<std::uint64_t>(b + kOffPosition, position.value());
  Store<std::uint64_t>(b + kOffVersion, d.version.value());
  Store<std::int64_t>(b + kOffTimestamp, d.timestamp_us);
  std::memcpy(b + kOffEventId, d.event_id.bytes.data(), 16);
  std::memcpy(b + kOffCorrelationId, d.correlation_id.bytes.data(), 16);
  std::memcpy(b + kOffCausationId, d.causation_id.bytes.data(), 16);
  Store<std::uint32_t>(b + kOffSchemaVersion, d.schema_version);
  Store<std::uint16_t>(b + kOffStreamLen, static_cast<std::uint16_t>(d.stream.size()));
  Store<std::uint16_t>(b + kOffTypeLen, static_cast<std::uint16_t>(d.type.size()));
  Store<std::uint32_t>(b + kOffMetadataLen, static_cast<std::uint32_t>(d.metadata.size()));
  Store<std::uint32_t>(b + kOffPayloadLen, static_cast<std::uint32_t>(d.payload.size()));
  char* p = b + kFixedBodyBytes;
  for (std::string_view part : {d.stream, d.type, d.metadata, d.payload}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  const Sha256Digest hash = Sha256Concat(prev_hash, b, body_len - kHashBytes);
  std::memcpy(p, hash.data(), kHashBytes);

  Store<std::uint32_t>(frame, static_cast<std::uint32_t>(body_len));
  Store<std::uint32_t>(frame + 4, crc32c::Value(b, body_len));
  return hash;
}

Decoded DecodeRecord(std::string_view bytes) {
  Decoded r;
  if (bytes.size() < kFrameBytes) {
    r.outcome = DecodeOutcome::kIncomplete;
    r.detail = "truncated frame header";
    return r;
  }
  const auto length_field = Load<std::uint32_t>(bytes.data());
  const auto body_len = BodyLength(length_field);
  r.starts_batch = (length_field & kBatchStartBit) != 0;
  if (body_len < kMinBodyBytes || body_len > kMaxRecordBytes) {
    r.detail = body_len == 0 ? "zero length" : "impossible record length";
    return r;
  }
  if (bytes.size() - kFrameBytes < body_len) {
    r.outcome = DecodeOutcome::kIncomplete;
    r.detail = "record extends past the end of the data";
    return r;
  }
  const char* b = bytes.data() + kFrameBytes;
  if (crc32c::Value(b, body_len) != Load<std::uint32_t>(bytes.data() + 4)) {
    r.detail = "crc mismatch";
    return r;
  }
  const auto stream_len = Load<std::uint16_t>(b + kOffStreamLen);
  const auto type_len = Load<std::uint16_t>(b + kOffTypeLen);
  const auto meta_len = Load<std::uint32_t>(b + kOffMetadataLen);
  const auto payload_len = Load<std::uint32_t>(b + kOffPayloadLen);
  const std::uint64_t expect = std::uint64_t{kMinBodyBytes} + stream_len + type_len + meta_len + payload_len;
  if (expect != body_len) {
    r.detail = "field lengths disagree with the record length";
    return r;
  }
  RecordView& v = r.view;
  v.position = Position(Load<std::uint64_t>(b + kOffPosition));
  v.version = StreamVersion(Load<std::uint64_t>(b + kOffVersion));
  v.timestamp_us = Load<std::int64_t>(b + kOffTimestamp);
  std::memcpy(v.event_id.bytes.data(), b + kOffEventId, 16);
  std::memcpy(v.correlation_id.bytes.data(), b + kOffCorrelationId, 16);
  std::memcpy(v.causation_id.bytes.data(), b + kOffCausationId, 16);
  v.schema_version = Load<std::uint32_t>(b + kOffSchemaVersion);
  const char* p = b + kFixedBodyBytes;
  v.stream = {p, stream_len};
  p += stream_len;
  v.type = {p, type_len};
  p += type_len;
  v.metadata = {p, meta_len};
  p += meta_len;
  v.payload = {p, payload_len};
  p += payload_len;
  std::memcpy(v.hash.data(), p, kHashBytes);
  r.outcome = DecodeOutcome::kOk;
  r.record_bytes = kFrameBytes + body_len;
  r.detail = "";
  return r;
}

Sha256Digest ChainHash(const Sha256Digest& prev, std::string_view body) {
  return Sha256Concat(prev, body.data(), body.size() - kHashBytes);
}

std::string_view BodyOf(std::string_view record) {
  const auto body_len = BodyLength(Load<std::uint32_t>(record.data()));
  return record.substr(kFrameBytes, body_len);
}

}  // namespace cqrs::log
