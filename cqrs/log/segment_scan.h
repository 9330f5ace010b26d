// ScanSegment: one checked pass over a segment file, for recovery on open.
//
// Checks every record's frame and CRC and that positions continue from `expected_first` with no
// gap. What to make of a bad record depends on where it is:
// - in a sealed segment (every one but the last), any bad record is corruption;
// - in the last segment, bad bytes with no valid record after them are a torn tail (a batch that
//   was being written when the process died: never acknowledged), reported in `torn_bytes`; bad
//   bytes with a valid record after them are corruption, since acknowledged records follow.
// Zeros after the last record (a preallocated segment) end the data cleanly; a zero length
// field with anything but zeros after it is a bad record like any other.
// Corruption is a kCorruption Status naming the file, the byte offset and the position.
#pragma once

#include <cstdint>
#include <functional>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/log/record.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/sparse_index.h"

namespace cqrs::log {

enum class SegmentRole { kSealed, kLast };

struct SegmentScan {
  std::uint64_t valid_bytes = 0;  // end offset of the last good record (or of the header)
  std::uint64_t torn_bytes = 0;   // bytes after valid_bytes that form a torn tail
  bool zero_tail = false;         // only zeros after valid_bytes: a preallocated segment
  std::uint64_t records = 0;
  Position last;             // last good position (expected_first - 1 if none)
  Sha256Digest last_hash{};  // hash stored in the last good record (unchanged if none)
  SparseIndex index;
};

Result<SegmentScan> ScanSegment(const SegmentFile& file, int fd, Position expected_first,
                                SegmentRole role, std::uint32_t index_interval,
                                const std::function<void(const RecordView&)>& on_record);

// Whether any record that decodes cleanly, with a position after `after`, starts anywhere in
// [from, end) of the file. Used to tell a torn tail from damage followed by good records.
Result<bool> HasValidRecordAfter(int fd, const std::filesystem::path& path, std::uint64_t from,
                                 std::uint64_t end, Position after);

}  // namespace cqrs::log
