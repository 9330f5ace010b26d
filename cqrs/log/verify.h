// VerifyLog: a read-only walk over a log directory that checks everything a reader trusts.
//
// For each record: the frame (length, CRC32C), that positions run 1, 2, 3 … with no gap, repeat or
// reordering, and the SHA-256 chain (each record's hash = SHA-256(previous hash || its bytes)).
// Unlike Log::Open it never truncates anything: a torn tail is reported, not repaired.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/log/record.h"

namespace cqrs::log {

struct VerifyProblem {
  Position position;         // the first position whose bytes were changed, removed or reordered
  std::string segment;       // segment file name
  std::uint64_t offset = 0;  // byte offset of the record in that segment
  std::string reason;        // "crc mismatch", "hash chain broken", "expected position 7, found 8" …
};

struct VerifyReport {
  std::uint64_t records = 0;  // records that verified, in order, before any problem
  Sha256Digest head_hash{};   // hash of the last verified record
  std::optional<VerifyProblem> problem;
  std::uint64_t torn_tail_bytes = 0;  // incomplete bytes at the very end (a crash; not tampering)
};

// Fails only when the directory cannot be read; damage is reported inside the VerifyReport.
Result<VerifyReport> VerifyLog(const std::filesystem::path& dir);

// Where a verified record was found.
struct RecordPlace {
  const std::filesystem::path* segment;  // the segment file (valid during the visit)
  Position segment_first;                // the position its first record has
  std::uint64_t offset;                  // of the record in that segment
  Sha256Digest previous;                 // the chain hash before it
};

// The same walk, showing each record that verified to `visit` (in log order) before counting it;
// `visit` returning false stops the walk there (the report covers the records before).
Result<VerifyReport> WalkLog(const std::filesystem::path& dir,
                             const std::function<bool(const RecordView&, const RecordPlace&)>& visit);

}  // namespace cqrs::log
