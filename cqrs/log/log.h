// Log: the embedded durable event log.
//
// Records live in segment files under one directory. Appending is two steps so that a caller
// (the event store) can check stream versions and assign positions atomically under its own lock:
//
//   Stage()        sequences records: assigns gapless positions, chains hashes, queues the bytes.
//                  Cheap, never blocks on disk. Staged records are NOT durable and NOT readable.
//   AwaitDurable() waits until the group-commit writer has written and fdatasync'ed them.
//
// One writer thread drains everything staged so far with one write (writev) and one fdatasync
// per batch, then publishes the new durable head and wakes waiters and tailing readers. If a write
// or fdatasync fails the writer is poisoned: that batch and every later one fail, and nothing is
// acknowledged again until the log is reopened (the page cache may hold bytes that never reached
// the disk; only recovery on open can tell what is really there).
//
// Open() recovers: it checks every record (CRC32C, positions), rebuilds the sparse position index,
// truncates a torn tail of the last segment, and reports corruption anywhere else as an error
// naming the segment file and byte offset. The on-disk format is in docs/log-format.md.
//
// Thread-safety: every method may be called from any thread. Readers see durable records only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/log/record.h"

namespace cqrs::log {

struct LogOptions {
  std::filesystem::path dir;
  // A segment is sealed and a new one started once it holds this many bytes.
  std::uint64_t segment_bytes = 256ull << 20;
  // Write into segment files filled with zeros ahead of time by a background thread. An
  // fdatasync of an append that grows a file must also journal the new size; overwriting
  // preallocated blocks needs only the data flushed (BM_WriteDatasync: 1.9x faster here).
  bool preallocate = true;
  // One sparse-index entry per this many bytes of segment: lookups by position scan at most this.
  std::uint32_t index_interval_bytes = 4096;
  // Called for every record found while opening, in log order, before Open() returns: lets the
  // event store build its stream index in the same pass over the bytes.
  std::function<void(const RecordView&)> on_recover;
  // Called by the writer after each group commit with the time its write and fdatasync took
  // (for a histogram; must be quick and thread-safe).
  std::function<void(double seconds)> on_commit;
};

// What Open() found.
struct RecoveryReport {
  std::uint64_t records = 0;
  std::uint64_t segments = 0;
  // Bytes cut from the end of the last segment: a batch that was being written at a crash (or
  // a damaged last batch: the two look alike, see docs/log-format.md).
  std::uint64_t truncated_bytes = 0;
  // When something was cut: the segment file, the offset the cut starts at, the first position
  // cut, and the highest position still readable in the cut bytes (0 if none was).
  std::string truncated_segment;
  std::uint64_t truncated_at = 0;
  Position first_truncated;
  Position last_truncated_seen;
};

// One line for the operator's log saying what recovery cut, or "" when nothing was.
std::string DescribeTruncation(const RecoveryReport& report);

// Counters since open, for metrics and benchmarks.
struct LogStats {
  std::uint64_t batches = 0;  // group commits (one fdatasync each)
  std::uint64_t records = 0;  // records made durable
  std::uint64_t bytes = 0;    // bytes made durable
};

struct PositionRange {
  Position first;  // first assigned position
  Position last;   // last assigned position
};

class Log {
 public:
  static Result<std::unique_ptr<Log>> Open(LogOptions options);

  // Makes everything staged durable (unless poisoned), then stops the writer.
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Sequences `drafts` as consecutive records and queues them for the writer. The range returned is
  // not durable until AwaitDurable(range.last) says so. Fails with kInvalidArgument for an empty
  // batch or a record over the limits in record.h, and with kPoisoned once the writer has failed.
  Result<PositionRange> Stage(std::span<const RecordDraft> drafts);

  // Blocks until `last` is durable. Returns the writer's error if the batch holding it failed.
  Status AwaitDurable(Position last);

  // Calls `done` once `last` is durable or the writer failed. `done` runs on the writer thread
  // (or inline if already decided): it must not block.
  void OnDurable(Position last, std::function<void(const Status&)> done);

  // Last durable position (0 when empty) and the chained hash of that record (zeros when empty).
  Position durable_head() const;
  Sha256Digest head_hash() const;
  // Last staged position: >= durable_head().
  Position staged_head() const;
  // Ok, or the error that poisoned the writer.
  Status writer_status() const;
  const RecoveryReport& recovery() const;
  LogStats stats() const;

  // Visits durable records in order from `from` (1-based, inclusive) until `visit` returns false,
  // `max` records were visited, or the durable head is reached. Views are valid only inside
  // `visit`. Corruption met on the way is returned as kCorruption naming segment and offset.
  Status Scan(Position from, std::size_t max, const std::function<bool(const RecordView&)>& visit) const;

  // Waits until durable_head() >= p, the deadline passes, or the writer is poisoned.
  // Returns whether p is durable.
  bool WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const;

 private:
  class Impl;
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cqrs::log
