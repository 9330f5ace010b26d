#include "cqrs/log/record_codec.h"

#include "cqrs/core/crc32c.h"
#include "cqrs/log/format.h"

namespace cqrs::log {

using namespace format;  // NOLINT: the format constants read best unqualified here

namespace {

std::size_t TagBlockSize(const RecordDraft& d) {
  if (d.tags.empty()) return 0;
  std::size_t n = kTagCountBytes;
  for (const std::string& t : d.tags) n += kTagLengthBytes + t.size();
  return n;
}

// Walks a tag block; false when it is not exactly a count >= 1 and that many length-prefixed
// tags of 1..kMaxRecordTagBytes bytes.
template <typename Visit>
bool WalkTags(std::string_view block, Visit&& visit) {
  if (block.size() < kTagCountBytes) return false;
  const auto count = Load<std::uint16_t>(block.data());
  if (count == 0 || count > kMaxRecordTags) return false;
  std::size_t at = kTagCountBytes;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (block.size() - at < kTagLengthBytes) return false;
    const auto len = Load<std::uint16_t>(block.data() + at);
    at += kTagLengthBytes;
    if (len == 0 || len > kMaxRecordTagBytes || block.size() - at < len) return false;
    visit(block.substr(at, len));
    at += len;
  }
  return at == block.size();
}

}  // namespace

std::size_t EncodedSize(const RecordDraft& d) {
  return kFrameBytes + kFixedBodyBytes + d.stream.size() + d.type.size() + d.metadata.size() + d.payload.size() +
         TagBlockSize(d) + kHashBytes;
}

std::vector<std::string> DecodeTags(std::string_view tag_block) {
  std::vector<std::string> out;
  if (!tag_block.empty()) WalkTags(tag_block, [&](std::string_view t) { out.emplace_back(t); });
  return out;
}

Status ValidateDraft(const RecordDraft& d) {
  if (d.stream.empty()) return InvalidArgument("stream: must not be empty");
  if (d.stream.size() > kMaxStreamBytes) return InvalidArgument("stream: longer than 1024 bytes");
  if (d.type.empty()) return InvalidArgument("type: must not be empty");
  if (d.type.size() > kMaxTypeBytes) return InvalidArgument("type: longer than 255 bytes");
  if (d.tags.size() > kMaxRecordTags) return InvalidArgument("tags: more than 255");
  for (const std::string& t : d.tags) {
    if (t.empty() || t.size() > kMaxRecordTagBytes) return InvalidArgument("tag: must be 1..1024 bytes");
  }
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
  const auto type_len = static_cast<std::uint16_t>(d.type.size());
  Store<std::uint16_t>(b + kOffTypeLen,
                       d.tags.empty() ? type_len : static_cast<std::uint16_t>(type_len | kTypeLenHasTags));
  Store<std::uint32_t>(b + kOffMetadataLen, static_cast<std::uint32_t>(d.metadata.size()));
  Store<std::uint32_t>(b + kOffPayloadLen, static_cast<std::uint32_t>(d.payload.size()));
  char* p = b + kFixedBodyBytes;
  for (std::string_view part : {d.stream, d.type, d.metadata, d.payload}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  if (!d.tags.empty()) {
    Store<std::uint16_t>(p, static_cast<std::uint16_t>(d.tags.size()));
    p += kTagCountBytes;
    for (const std::string& t : d.tags) {
      Store<std::uint16_t>(p, static_cast<std::uint16_t>(t.size()));
      std::memcpy(p + kTagLengthBytes, t.data(), t.size());
      p += kTagLengthBytes + t.size();
    }
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
  const auto type_field = Load<std::uint16_t>(b + kOffTypeLen);
  const bool has_tags = (type_field & kTypeLenHasTags) != 0;
  const auto type_len = static_cast<std::uint16_t>(type_field & ~kTypeLenHasTags);
  const auto meta_len = Load<std::uint32_t>(b + kOffMetadataLen);
  const auto payload_len = Load<std::uint32_t>(b + kOffPayloadLen);
  const std::uint64_t fields = std::uint64_t{kMinBodyBytes} + stream_len + type_len + meta_len + payload_len;
  // Without tags the fields fill the body exactly; with tags the block is what is left.
  if (has_tags ? fields + kTagCountBytes > body_len : fields != body_len) {
    r.detail = "field lengths disagree with the record length";
    return r;
  }
  std::string_view tag_block;
  if (has_tags) {
    tag_block = {b + (fields - kHashBytes), static_cast<std::size_t>(body_len - fields)};
    if (!WalkTags(tag_block, [](std::string_view) {})) {
      r.detail = "bad tag block";
      return r;
    }
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
  p += payload_len + tag_block.size();
  v.tag_block = tag_block;
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
