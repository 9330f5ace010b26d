// The on-disk format of the log, shared by writer, reader, recovery and verify.
// The prose version is docs/log-format.md; keep the two in step.
//
// A log is a directory of segment files named by the position of their first record
// ("00000000000000000001.seg"). Each segment starts with a 32-byte header, then records back to
// back. All integers are little-endian.
//
// Segment header (32 bytes):
//   0  magic "ADSDLOG1"            8 bytes
//   8  u32 format version (1)
//   12 u32 header size (32)
//   16 u64 first position
//   24 u32 flags: bit 0 set = records mark the start of each synced unit (below); 0 in
//                  segments written before the mark existed
//   28 u32 CRC32C of bytes 0..27
//
// Record = frame + body:
//   0  u32 body length (bits 0..30); bit 31 set = the first record the writer wrote after an
//      fdatasync of this segment (the start of a group-commit batch, or of its part in this
//      segment). Not covered by the CRC.
//   4  u32 CRC32C of the body
//   8  body:
//      0  u64 position            8  u64 stream version      16 i64 timestamp (µs, UTC)
//      24 event id (16)           40 correlation id (16)     56 causation id (16)
//      72 u32 schema version      76 u16 stream length       78 u16 type length
//      80 u32 metadata length     84 u32 payload length
//      88 stream, type, metadata, payload bytes
//      [tag block, only when bit 15 of the type length is set:
//         u16 tag count (>= 1), then per tag: u16 length, bytes]
//      body length - 32: SHA-256(previous record's hash || body bytes before this field)
//   The type length's bit 15 (types are <= 255 bytes, so it was always 0) says a tag block follows
//   the payload; its size is what the body has left before the hash. A record without tags is
//   byte for byte what the format wrote before tags existed, so old logs open and verify as they
//   were; a reader that predates tags refuses a tagged record as a bad record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cqrs::log::format {

inline constexpr std::string_view kSegmentMagic{"ADSDLOG1", 8};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 32;
inline constexpr std::size_t kFrameBytes = 8;       // length + CRC
inline constexpr std::size_t kFixedBodyBytes = 88;  // fixed fields before the variable ones
inline constexpr std::size_t kHashBytes = 32;
inline constexpr std::size_t kMinBodyBytes = kFixedBodyBytes + kHashBytes;
inline constexpr std::string_view kSegmentSuffix = ".seg";
// Segment header flags (offset 24).
inline constexpr std::size_t kOffHeaderFlags = 24;
inline constexpr std::uint32_t kHeaderMarksBatches = 1u;
// In a record's length field: this record starts a batch (see above).
inline constexpr std::uint32_t kBatchStartBit = 1u << 31;
inline constexpr std::uint32_t BodyLength(std::uint32_t length_field) { return length_field & ~kBatchStartBit; }

// Body field offsets.
inline constexpr std::size_t kOffPosition = 0;
inline constexpr std::size_t kOffVersion = 8;
inline constexpr std::size_t kOffTimestamp = 16;
inline constexpr std::size_t kOffEventId = 24;
inline constexpr std::size_t kOffCorrelationId = 40;
inline constexpr std::size_t kOffCausationId = 56;
inline constexpr std::size_t kOffSchemaVersion = 72;
inline constexpr std::size_t kOffStreamLen = 76;
inline constexpr std::size_t kOffTypeLen = 78;
inline constexpr std::size_t kOffMetadataLen = 80;
inline constexpr std::size_t kOffPayloadLen = 84;
// In the type length field: a tag block follows the payload.
inline constexpr std::uint16_t kTypeLenHasTags = 0x8000;
inline constexpr std::size_t kTagCountBytes = 2;
inline constexpr std::size_t kTagLengthBytes = 2;

template <typename T>
inline T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the format is little-endian, as is every host we build for
  return v;
}

template <typename T>
inline void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the log format is little-endian");

}  // namespace cqrs::log::format
