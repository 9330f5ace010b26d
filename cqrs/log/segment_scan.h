// ScanSegment: one checked pass over a segment file, for recovery on open.
//
// Checks every record's frame and CRC and that positions continue from `expected_first` with no
// gap. What to make of a bad record depends on where it is:
// - in a sealed segment (every one but the last), any bad record is corruption;
// - in the last segment, bad bytes are a torn tail (reported in `torn_bytes` and `cut`) when they
//   can only belong to the last batch, which was being written when the process or the machine
//   died and so was never acknowledged: no valid record follows them, or (in a segment whose
//   records mark batch starts) the valid records that follow are all of that same batch, which
//   a power loss can persist out of order. Bad bytes followed by the start of a later batch are
//   corruption: that later batch was written only after the damaged one was synced.
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

// What a torn tail held, as far as its bytes can tell.
struct TornTail {
  Position first;      // the first position cut (the one after the last good record)
  Position last_seen;  // the highest position found in the cut bytes (>= first when any)
};

struct SegmentScan {
  std::uint64_t valid_bytes = 0;  // end offset of the last good record (or of the header)
  std::uint64_t torn_bytes = 0;   // bytes after valid_bytes that form a torn tail
  TornTail cut;                   // when torn_bytes > 0
  bool zero_tail = false;         // only zeros after valid_bytes: a preallocated segment
  std::uint64_t records = 0;
  Position last;             // last good position (expected_first - 1 if none)
  Sha256Digest last_hash{};  // hash stored in the last good record (unchanged if none)
  SparseIndex index;
};

Result<SegmentScan> ScanSegment(const SegmentFile& file, int fd, Position expected_first, SegmentRole role,
                                std::uint32_t index_interval, const std::function<void(const RecordView&)>& on_record);

// Whether any record that decodes cleanly, with a position after `after`, starts anywhere in
// [from, end) of the file. Used to tell a torn tail from damage followed by good records.
Result<bool> HasValidRecordAfter(int fd, const std::filesystem::path& path, std::uint64_t from, std::uint64_t end,
                                 Position after);

// Bad bytes at `bad` in the last segment, after the good record at position `after`: whether they
// are a torn tail (see ScanSegment) and, if so, what it held. `marks_batches`: the segment's
// header flag.
struct BadTail {
  bool torn = false;
  TornTail cut;
};
Result<BadTail> ClassifyBadTail(int fd, const std::filesystem::path& path, std::uint64_t bad, std::uint64_t end,
                                Position after, bool marks_batches);

}  // namespace cqrs::log
