// Log::Impl: the log's internals, shared by log.cc (staging, the writer, reading) and
// log_recovery.cc (opening, the spare segment). Private: include only from those files.
#pragma once

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
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
  // The three below are guarded by the log's table_mu_ (Log::Impl): a member of another object
  // the analysis cannot name here.
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
  ~Impl() EXCLUDES(mu_, spare_mu_, done_mu_);

  Status Recover() EXCLUDES(mu_, table_mu_);
  void StartWriter() {
    if (opt_.preallocate)
      preparer_ = std::thread([this] {
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

  Result<PositionRange> Stage(std::span<const RecordDraft> drafts) EXCLUDES(mu_);
  Status AwaitDurable(Position last) EXCLUDES(mu_);
  void OnDurable(Position last, DurableCallback done) EXCLUDES(mu_);
  Status Scan(Position from, std::size_t max, const std::function<bool(const RecordView&)>& visit) const
      EXCLUDES(table_mu_);
  bool WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const EXCLUDES(mu_);

  Position durable_head() const { return Position(durable_head_.load(std::memory_order_acquire)); }
  Sha256Digest head_hash() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return durable_hash_;
  }
  Position staged_head() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return staged_head_;
  }
  Status writer_status() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return poison_;
  }
  const RecoveryReport& recovery() const { return report_; }
  LogStats stats() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return stats_;
  }

 private:
  void WriterLoop() EXCLUDES(mu_);
  Status WriteBatch(std::vector<Chunk>& batch) EXCLUDES(mu_);
  Status WriteAndSync(std::vector<Chunk>& batch) EXCLUDES(mu_);
  Status CreateSegment(Segment* segment) EXCLUDES(mu_, table_mu_);
  void Finish(const std::vector<Chunk>& batch, Status status) EXCLUDES(mu_, done_mu_);
  Segment* AddSegmentLocked(Position first) REQUIRES(mu_) EXCLUDES(table_mu_);

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
  mutable Mutex mu_;
  CondVar work_cv_;   // the writer waits for staged bytes
  CondVar space_cv_;  // stagers wait for queue space
  mutable CondVar durable_cv_;
  Position staged_head_ GUARDED_BY(mu_);
  Sha256Digest staged_hash_ GUARDED_BY(mu_) = {};
  Segment* staged_segment_ GUARDED_BY(mu_) = nullptr;       // where the next record goes
  std::uint64_t staged_segment_bytes_ GUARDED_BY(mu_) = 0;  // its size once all staged bytes land
  std::vector<Chunk> queue_ GUARDED_BY(mu_);
  std::size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  Sha256Digest durable_hash_ GUARDED_BY(mu_) = {};
  Status poison_ GUARDED_BY(mu_);  // once set, never cleared
  LogStats stats_ GUARDED_BY(mu_);
  bool spare_requested_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::multimap<Position, DurableCallback> waiters_ GUARDED_BY(mu_);
  std::atomic<std::uint64_t> durable_head_{0};  // written under mu_, read lock-free

  // The segment table: appended by Stage (new segment) and the writer (file descriptors, durable
  // sizes), read by readers.
  mutable SharedMutex table_mu_ ACQUIRED_AFTER(mu_);
  std::vector<std::unique_ptr<Segment>> segments_ GUARDED_BY(table_mu_);

  // Acknowledgements run on their own thread: waking dozens of appenders costs a syscall each,
  // and the writer should be writing and syncing the next batch meanwhile.
  struct Completion {
    std::vector<DurableCallback> callbacks;
    Status status;
  };
  void CompleterLoop() EXCLUDES(done_mu_);
  Mutex done_mu_;
  CondVar done_cv_;
  std::vector<Completion> done_queue_ GUARDED_BY(done_mu_);
  bool done_stopping_ GUARDED_BY(done_mu_) = false;
  std::thread completer_;

  // The spare segment: a zero-filled file prepared in the background, taken by the writer when
  // it starts a new segment.
  void PreparerLoop() EXCLUDES(spare_mu_);
  Result<bool> TakeSpare(Segment* segment) EXCLUDES(spare_mu_);
  Mutex spare_mu_ ACQUIRED_AFTER(table_mu_);
  CondVar spare_cv_;
  bool spare_stopping_ GUARDED_BY(spare_mu_) = false;
  bool spare_wanted_ GUARDED_BY(spare_mu_) = false;  // set once the log sees real traffic
  std::atomic<bool> spare_ready_{false};
  std::thread preparer_;

  Fd lock_fd_;  // holds the directory's flock for the log's lifetime

  // Writer thread only.
  Fd active_fd_;
  Segment* active_ = nullptr;
  std::thread writer_;
};

}  // namespace cqrs::log
