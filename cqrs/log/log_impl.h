// Log::Impl: the log's internals, shared by log.cc (staging, the writer, reading) and
// log_recovery.cc (opening, the spare segment). Private: include only from those files.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "cqrs/core/thread_name.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/sparse_index.h"

namespace cqrs::log {

namespace fs = std::filesystem;

namespace log_internal {

// Stagers wait while this much is queued and not yet written: memory stays bounded when the disk
// is slower than the appenders.
constexpr std::size_t kMaxQueuedBytes = 64u << 20;

// Whether a segment file is preallocated (zero-filled) is known once the writer creates it.
enum class SegmentFileState { kPending, kAppending, kPreallocated };

constexpr std::string_view kSpareName = "spare.prealloc";
constexpr std::string_view kSpareTmpName = "spare.prealloc.tmp";

struct Segment {
  Position first;
  fs::path path;
  std::atomic<SegmentFileState> state{SegmentFileState::kPending};
  Fd read_fd;  // opened by recovery or by the writer when it creates the file
  SparseIndex index;
  std::uint64_t durable_bytes = 0;  // records below this offset are durable
};

// Bytes staged for one segment, waiting for the writer.
struct Chunk {
  Segment* segment = nullptr;  // owned by the segment table; never removed while open
  std::string bytes;
  std::uint64_t end_offset = 0;  // segment size once these bytes are written
  Position last;
  Sha256Digest last_hash{};
};

using DurableCallback = std::function<void(const Status&)>;

}  // namespace log_internal

using log_internal::Chunk;
using log_internal::DurableCallback;
using log_internal::kMaxQueuedBytes;
using log_internal::kSpareName;
using log_internal::kSpareTmpName;
using log_internal::Segment;
using log_internal::SegmentFileState;

class Log::Impl {
 public:
  explicit Impl(LogOptions options) : opt_(std::move(options)) {}
  ~Impl();

  Status Recover();
  void StartWriter() {
    if (opt_.preallocate) preparer_ = std::thread([this] {
      NameThisThread("log-prealloc");
      PreparerLoop();
    });
    completer_ = std::thread([this] {
      NameThisThread("log-complete");
      CompleterLoop();
    });
    writer_ = std::thread([this] {
      NameThisThread("log-writer");
      WriterLoop();
    });
  }

  Result<PositionRange> Stage(std::span<const RecordDraft> drafts);
  Status AwaitDurable(Position last);
  void OnDurable(Position last, DurableCallback done);
  Status Scan(Position from, std::size_t max,
              const std::function<bool(const RecordView&)>& visit) const;
  bool WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const;

  Position durable_head() const { return Position(durable_head_.load(std::memory_order_acquire)); }
  Sha256Digest head_hash() const {
    std::lock_guard lock(mu_);
    return durable_hash_;
  }
  Position staged_head() const {
    std::lock_guard lock(mu_);
    return staged_head_;
  }
  Status writer_status() const {
    std::lock_guard lock(mu_);
    return poison_;
  }
  const RecoveryReport& recovery() const { return report_; }
  LogStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  void WriterLoop();
  Status WriteBatch(std::vector<Chunk>& batch);
  Status WriteAndSync(std::vector<Chunk>& batch);
  Status CreateSegment(Segment* segment);
  void Finish(const std::vector<Chunk>& batch, Status status);
  Segment* AddSegmentLocked(Position first);

  const LogOptions opt_;
  RecoveryReport report_;

  // Threads: appenders (any thread: Stage, AwaitDurable, OnDurable), readers (Scan), the writer
  // (WriterLoop: write + fdatasync, then Finish), the completer (runs acknowledgements) and the
  // preparer (zero-fills the spare segment).
  //
  // Lock order: mu_, then table_mu_, then spare_mu_ (Finish holds mu_ while it moves durable
  // sizes under table_mu_ and asks for a spare under spare_mu_; Stage holds mu_ when it adds a
  // segment under table_mu_). done_mu_ and the per-call waiter mutex of AwaitDurable are never
  // held together with another lock. Nothing does I/O under mu_ except the writer's own
  // segment creation; readers take only table_mu_ (shared).

  // Sequencing and durability state.
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // the writer waits for staged bytes
  std::condition_variable space_cv_;  // stagers wait for queue space
  mutable std::condition_variable durable_cv_;
  Position staged_head_;                    // guarded by mu_
  Sha256Digest staged_hash_{};              // guarded by mu_
  Segment* staged_segment_ = nullptr;       // guarded by mu_: where the next record goes
  std::uint64_t staged_segment_bytes_ = 0;  // guarded by mu_: its size once all staged bytes land
  std::vector<Chunk> queue_;                // guarded by mu_
  std::size_t queued_bytes_ = 0;            // guarded by mu_
  Sha256Digest durable_hash_{};             // guarded by mu_
  Status poison_;                           // guarded by mu_; once set, never cleared
  LogStats stats_;                          // guarded by mu_
  bool spare_requested_ = false;            // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::multimap<Position, DurableCallback> waiters_;  // guarded by mu_
  std::atomic<std::uint64_t> durable_head_{0};        // written under mu_, read lock-free

  // The segment table: appended by Stage (new segment) and the writer (file descriptors, durable
  // sizes), read by readers.
  mutable std::shared_mutex table_mu_;
  std::vector<std::unique_ptr<Segment>> segments_;  // guarded by table_mu_

  // Acknowledgements run on their own thread: waking dozens of appenders costs a syscall each,
  // and the writer should be writing and syncing the next batch meanwhile.
  struct Completion {
    std::vector<DurableCallback> callbacks;
    Status status;
  };
  void CompleterLoop();
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<Completion> done_queue_;  // guarded by done_mu_
  bool done_stopping_ = false;          // guarded by done_mu_
  std::thread completer_;

  // The spare segment: a zero-filled file prepared in the background, taken by the writer when
  // it starts a new segment.
  void PreparerLoop();
  Result<bool> TakeSpare(Segment* segment);
  std::mutex spare_mu_;
  std::condition_variable spare_cv_;
  bool spare_stopping_ = false;  // guarded by spare_mu_
  bool spare_wanted_ = false;    // guarded by spare_mu_: set once the log sees real traffic
  std::atomic<bool> spare_ready_{false};
  std::thread preparer_;

  Fd lock_fd_;  // holds the directory's flock for the log's lifetime

  // Writer thread only.
  Fd active_fd_;
  Segment* active_ = nullptr;
  std::thread writer_;
};

}  // namespace cqrs::log
