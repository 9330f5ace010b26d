#include "cqrs/core/thread_name.h"
#include "cqrs/log/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "cqrs/log/format.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_reader.h"
#include "cqrs/log/segment_scan.h"
#include "cqrs/log/sparse_index.h"

namespace cqrs::log {

namespace fs = std::filesystem;

namespace {

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

}  // namespace

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

Log::Impl::~Impl() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(spare_mu_);
    spare_stopping_ = true;
  }
  spare_cv_.notify_all();
  if (preparer_.joinable()) preparer_.join();
  {
    std::lock_guard lock(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
}

void Log::Impl::CompleterLoop() {
  while (true) {
    std::vector<Completion> work;
    {
      std::unique_lock lock(done_mu_);
      done_cv_.wait(lock, [&] { return !done_queue_.empty() || done_stopping_; });
      if (done_queue_.empty()) return;  // stopping, and every acknowledgement delivered
      work.swap(done_queue_);
    }
    for (Completion& c : work) {
      for (auto& cb : c.callbacks) cb(c.status);
    }
  }
}

void Log::Impl::PreparerLoop() {
  const fs::path tmp = opt_.dir / kSpareTmpName;
  const fs::path spare = opt_.dir / kSpareName;
  while (true) {
    {
      std::unique_lock lock(spare_mu_);
      spare_cv_.wait(lock,
                     [&] { return spare_stopping_ || (spare_wanted_ && !spare_ready_.load()); });
      if (spare_stopping_) return;
    }
    Status st = CreateZeroFilledFile(tmp, opt_.segment_bytes, [this] {
      std::lock_guard lock(spare_mu_);
      return spare_stopping_;
    });
    if (st.ok() && ::rename(tmp.c_str(), spare.c_str()) != 0) st = ErrnoError("rename", errno);
    if (!st.ok()) {
      // No spare (disk full, closing): the writer creates segments the plain way. Not an error
      // for the log; a new spare is tried at the next open.
      std::error_code ec;
      fs::remove(tmp, ec);
      return;
    }
    spare_ready_.store(true);
  }
}

// Turns the spare into `segment`: header written and synced first, then renamed into place and
// the directory synced, so a segment file name never points at a file without a durable header.
Result<bool> Log::Impl::TakeSpare(Segment* segment) {
  if (!spare_ready_.load()) return false;
  const fs::path spare = opt_.dir / kSpareName;
  {
    ASSIGN_OR_RETURN(Fd fd, OpenFile(spare, O_WRONLY));
    RETURN_IF_ERROR(WriteAllAt(fd.get(), EncodeSegmentHeader(segment->first), 0, spare));
    RETURN_IF_ERROR(SyncData(fd.get(), spare));
  }
  if (::rename(spare.c_str(), segment->path.c_str()) != 0) {
    return ErrnoError("rename " + spare.string(), errno);
  }
  {
    std::lock_guard lock(spare_mu_);
    spare_ready_.store(false);
  }
  spare_cv_.notify_all();
  return true;
}

Status Log::Impl::Recover() {
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec) return ErrnoError("create " + opt_.dir.string(), ec.value());
  // One process owns a log: a second one would take the first one's unfinished writes for a torn
  // tail and cut them. The lock goes with the process, so a crash never leaves it behind.
  ASSIGN_OR_RETURN(lock_fd_, OpenFile(opt_.dir / "LOCK", O_RDWR | O_CREAT));
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Unavailable("the log in " + opt_.dir.string() + " is open in another process");
    }
    return ErrnoError("lock " + opt_.dir.string(), errno);
  }
  ASSIGN_OR_RETURN(std::vector<SegmentFile> files, ListSegments(opt_.dir));
  // A spare left by the last run may be half written; the preparer makes a fresh one.
  fs::remove(opt_.dir / kSpareName, ec);
  fs::remove(opt_.dir / kSpareTmpName, ec);

  Position expected(1);
  Sha256Digest hash{};
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SegmentFile& file = files[i];
    const SegmentRole role = i + 1 == files.size() ? SegmentRole::kLast : SegmentRole::kSealed;
    ASSIGN_OR_RETURN(Fd fd, OpenFile(file.path, O_RDONLY));
    ASSIGN_OR_RETURN(SegmentScan scan, ScanSegment(file, fd.get(), expected, role,
                                                   opt_.index_interval_bytes, opt_.on_recover));
    if (scan.torn_bytes > 0) {
      report_.truncated_bytes += scan.torn_bytes;
      if (scan.valid_bytes == 0) {  // not even a durable header: the segment never held a record
        fs::remove(file.path, ec);
        if (ec) return ErrnoError("remove " + file.path.string(), ec.value());
        RETURN_IF_ERROR(SyncDir(opt_.dir));
        continue;
      }
      ASSIGN_OR_RETURN(Fd wfd, OpenFile(file.path, O_WRONLY));
      if (::ftruncate(wfd.get(), static_cast<off_t>(scan.valid_bytes)) != 0) {
        return ErrnoError("truncate " + file.path.string(), errno);
      }
      RETURN_IF_ERROR(SyncData(wfd.get(), file.path));
    }
    auto seg = std::make_unique<Segment>();
    seg->first = file.first;
    seg->path = file.path;
    seg->read_fd = std::move(fd);
    seg->index = std::move(scan.index);
    seg->durable_bytes = scan.valid_bytes;
    seg->state = scan.zero_tail ? SegmentFileState::kPreallocated : SegmentFileState::kAppending;
    if (scan.records > 0) hash = scan.last_hash;
    expected = scan.last.next();
    report_.records += scan.records;
    ++report_.segments;
    segments_.push_back(std::move(seg));
  }

  staged_head_ = Position(expected.value() - 1);
  staged_hash_ = durable_hash_ = hash;
  durable_head_.store(staged_head_.value(), std::memory_order_release);
  if (!segments_.empty()) {
    Segment* last = segments_.back().get();
    ASSIGN_OR_RETURN(active_fd_, OpenFile(last->path, O_WRONLY));
    active_ = last;
    staged_segment_ = last;
    staged_segment_bytes_ = last->durable_bytes;
  }
  return Status::Ok();
}

Segment* Log::Impl::AddSegmentLocked(Position first) {
  auto seg = std::make_unique<Segment>();
  seg->first = first;
  seg->path = opt_.dir / SegmentFileName(first);
  seg->index = SparseIndex(opt_.index_interval_bytes);
  seg->durable_bytes = format::kSegmentHeaderBytes;
  Segment* raw = seg.get();
  std::unique_lock table(table_mu_);
  segments_.push_back(std::move(seg));
  return raw;
}

Result<PositionRange> Log::Impl::Stage(std::span<const RecordDraft> drafts) {
  if (drafts.empty()) return InvalidArgument("append: no records");
  std::size_t total = 0;
  for (const RecordDraft& d : drafts) {
    RETURN_IF_ERROR(ValidateDraft(d));
    total += EncodedSize(d);
  }

  std::unique_lock lock(mu_);
  space_cv_.wait(lock,
                 [&] { return queued_bytes_ < kMaxQueuedBytes || !poison_.ok() || stopping_; });
  if (!poison_.ok()) return Poisoned("log writer failed earlier: " + poison_.message());
  if (stopping_) return Unavailable("log is closing");

  PositionRange range{staged_head_.next(), staged_head_ + drafts.size()};
  std::vector<SparseIndex::Entry> index_adds;
  index_adds.reserve(drafts.size());
  for (const RecordDraft& d : drafts) {
    const std::size_t size = EncodedSize(d);
    const bool used =
        staged_segment_ != nullptr && staged_segment_bytes_ > format::kSegmentHeaderBytes;
    const bool full = used && staged_segment_bytes_ + size > opt_.segment_bytes;
    // A segment written the plain way (no spare was ready when it started) is left early once a
    // spare is ready: the rest of the data then goes to the faster, preallocated kind of file.
    const bool upgrade = used && spare_ready_.load() &&
                         staged_segment_->state.load() == SegmentFileState::kAppending;
    if (staged_segment_ == nullptr || full || upgrade) {
      staged_segment_ = AddSegmentLocked(staged_head_.next());
      staged_segment_bytes_ = format::kSegmentHeaderBytes;
    }
    if (queue_.empty() || queue_.back().segment != staged_segment_) {
      queue_.push_back(Chunk{staged_segment_, {}, 0, {}, {}});
      queue_.back().bytes.reserve(std::max<std::size_t>(total, 64u << 10));
    }
    Chunk& chunk = queue_.back();
    ++staged_head_;
    staged_hash_ = EncodeRecord(d, staged_head_, staged_hash_, chunk.bytes);
    index_adds.push_back({staged_head_, staged_segment_bytes_});
    staged_segment_bytes_ += size;
    chunk.end_offset = staged_segment_bytes_;
    chunk.last = staged_head_;
    chunk.last_hash = staged_hash_;
  }
  queued_bytes_ += total;
  {
    // Index entries for records not yet durable are harmless: readers never look past the head.
    std::unique_lock table(table_mu_);
    for (const auto& e : index_adds) {
      // Find the segment holding e.position: almost always the last one.
      for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
        if ((*it)->first <= e.position) {
          (*it)->index.Add(e.position, e.offset);
          break;
        }
      }
    }
  }
  lock.unlock();
  work_cv_.notify_one();
  return range;
}

void Log::Impl::WriterLoop() {
  while (true) {
    std::vector<Chunk> batch;
    Status failed;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything staged has been written
      batch.swap(queue_);
      queued_bytes_ = 0;
      failed = poison_;
    }
    space_cv_.notify_all();
    Finish(batch, failed.ok() ? WriteBatch(batch) : failed);
  }
}

Status Log::Impl::CreateSegment(Segment* segment) {
  // The header is made durable, and the directory entry with it, before any record is written
  // into the file: recovery may then treat a segment without a valid header as never used.
  ASSIGN_OR_RETURN(bool from_spare, TakeSpare(segment));
  Fd fd;
  if (from_spare) {
    ASSIGN_OR_RETURN(fd, OpenFile(segment->path, O_WRONLY));
  } else {
    ASSIGN_OR_RETURN(fd, OpenFile(segment->path, O_WRONLY | O_CREAT | O_EXCL));
    RETURN_IF_ERROR(WriteAll(fd.get(), EncodeSegmentHeader(segment->first), segment->path));
    RETURN_IF_ERROR(SyncData(fd.get(), segment->path));
  }
  RETURN_IF_ERROR(SyncDir(opt_.dir));
  segment->state = from_spare ? SegmentFileState::kPreallocated : SegmentFileState::kAppending;
  ASSIGN_OR_RETURN(Fd rfd, OpenFile(segment->path, O_RDONLY));
  {
    std::unique_lock table(table_mu_);
    segment->read_fd = std::move(rfd);
  }
  active_fd_ = std::move(fd);
  active_ = segment;
  return Status::Ok();
}

Status Log::Impl::WriteBatch(std::vector<Chunk>& batch) {
  const auto began = std::chrono::steady_clock::now();
  Status st = WriteAndSync(batch);
  if (st.ok() && opt_.on_commit) {
    opt_.on_commit(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  }
  return st;
}

Status Log::Impl::WriteAndSync(std::vector<Chunk>& batch) {
  for (Chunk& chunk : batch) {
    if (chunk.segment != active_) {
      // Seal the previous segment before anything lands in the next one, so that every segment
      // but the last is complete on disk.
      if (active_fd_.valid()) RETURN_IF_ERROR(SyncData(active_fd_.get(), active_->path));
      RETURN_IF_ERROR(CreateSegment(chunk.segment));
    }
    RETURN_IF_ERROR(WriteAllAt(active_fd_.get(), chunk.bytes, chunk.end_offset - chunk.bytes.size(),
                               active_->path));
  }
  return SyncData(active_fd_.get(), active_->path);
}

void Log::Impl::Finish(const std::vector<Chunk>& batch, Status status) {
  std::vector<DurableCallback> ready;
  Status outcome;
  {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      {
        std::unique_lock table(table_mu_);
        for (const Chunk& c : batch) c.segment->durable_bytes = c.end_offset;
      }
      ++stats_.batches;
      for (const Chunk& c : batch) stats_.bytes += c.bytes.size();
      // Zero-filling a whole segment pays off only for a log that is really written to: a tool
      // or a test that appends a few records should not cost a segment of disk writes.
      if (opt_.preallocate && !spare_requested_ &&
          stats_.bytes >= std::min<std::uint64_t>(opt_.segment_bytes / 16, 4u << 20)) {
        spare_requested_ = true;
        {
          std::lock_guard spare_lock(spare_mu_);
          spare_wanted_ = true;
        }
        spare_cv_.notify_all();
      }
      stats_.records += batch.back().last - durable_head();
      durable_hash_ = batch.back().last_hash;
      durable_head_.store(batch.back().last.value(), std::memory_order_release);
      const auto end = waiters_.upper_bound(batch.back().last);
      for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
      waiters_.erase(waiters_.begin(), end);
    } else {
      // Poisoned: what the page cache holds may never reach the disk, so nothing staged is
      // acknowledged, now or later.
      if (poison_.ok()) poison_ = status;
      outcome = Poisoned("log writer failed: " + poison_.message());
      for (auto& [pos, cb] : waiters_) ready.push_back(std::move(cb));
      waiters_.clear();
    }
  }
  durable_cv_.notify_all();
  if (!status.ok()) space_cv_.notify_all();
  if (ready.empty()) return;
  {
    std::lock_guard lock(done_mu_);
    done_queue_.push_back({std::move(ready), std::move(outcome)});
  }
  done_cv_.notify_one();
}

Status Log::Impl::AwaitDurable(Position last) {
  if (durable_head() >= last) return Status::Ok();
  // Each waiter gets its own semaphore, released by the writer for exactly the waiters its batch
  // made durable: a broadcast would wake every appender to re-check, and with dozens of
  // appenders that convoy on the mutex costs more than the fdatasync they share.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  } w;
  OnDurable(last, [&w](const Status& st) {
    std::lock_guard lock(w.mu);
    w.status = st;
    w.done = true;
    w.cv.notify_one();  // under the lock: `w` lives on the waiter's stack
  });
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&w] { return w.done; });
  return w.status;
}

void Log::Impl::OnDurable(Position last, DurableCallback done) {
  Status now;
  {
    std::lock_guard lock(mu_);
    if (durable_head() < last) {
      if (poison_.ok()) {
        waiters_.emplace(last, std::move(done));
        return;
      }
      now = Poisoned("log writer failed: " + poison_.message());
    }
  }
  done(now);
}

bool Log::Impl::WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const {
  if (durable_head() >= p) return true;
  std::unique_lock lock(mu_);
  durable_cv_.wait_until(lock, deadline, [&] { return durable_head() >= p || !poison_.ok(); });
  return durable_head() >= p;
}

Status Log::Impl::Scan(Position from, std::size_t max,
                       const std::function<bool(const RecordView&)>& visit) const {
  if (from.value() == 0) from = Position(1);
  const Position head = durable_head();
  Position want = from;
  std::size_t visited = 0;
  while (want <= head && visited < max) {
    int fd = -1;
    fs::path path;
    std::uint64_t start = 0, end = 0;
    {
      std::shared_lock table(table_mu_);
      auto it = std::upper_bound(
          segments_.begin(), segments_.end(), want,
          [](Position p, const std::unique_ptr<Segment>& s) { return p < s->first; });
      if (it == segments_.begin())
        return Internal("no segment holds position " + std::to_string(want.value()));
      const Segment& seg = **std::prev(it);
      fd = seg.read_fd.get();
      path = seg.path;
      start = seg.index.Seek(want, format::kSegmentHeaderBytes);
      end = seg.durable_bytes;
    }
    // Replays read ahead in large chunks; point lookups only need the sparse-index interval.
    const std::size_t read_ahead = max <= 16 ? 4 * opt_.index_interval_bytes : 1u << 20;
    SegmentReader reader(fd, path, start, end, read_ahead);
    bool progressed = false;
    while (want <= head && visited < max) {
      ASSIGN_OR_RETURN(SegmentReader::Next n, reader.Read());
      if (n.kind == SegmentReader::Kind::kEnd) break;
      if (n.kind != SegmentReader::Kind::kRecord) {
        return Corruption(path.filename().string() + " offset " + std::to_string(n.offset) + ": " +
                          n.detail);
      }
      if (n.view.position < want) continue;  // scanning forward from the sparse-index entry
      if (n.view.position != want) {
        return Corruption(path.filename().string() + " offset " + std::to_string(n.offset) +
                          ": expected position " + std::to_string(want.value()) + ", found " +
                          std::to_string(n.view.position.value()));
      }
      progressed = true;
      ++visited;
      ++want;
      if (!visit(n.view)) return Status::Ok();
    }
    if (!progressed && want <= head && visited < max) {
      return Internal("position " + std::to_string(want.value()) + " not found in " +
                      path.filename().string());
    }
  }
  return Status::Ok();
}

// Log: forwards to Impl.

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

Result<std::unique_ptr<Log>> Log::Open(LogOptions options) {
  if (options.segment_bytes < format::kSegmentHeaderBytes + 4096) {
    return InvalidArgument("segment_bytes: at least 4 KiB beyond the header");
  }
  if (options.index_interval_bytes == 0)
    return InvalidArgument("index_interval_bytes: must be > 0");
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Recover());
  impl->StartWriter();
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Result<PositionRange> Log::Stage(std::span<const RecordDraft> d) { return impl_->Stage(d); }
Status Log::AwaitDurable(Position last) { return impl_->AwaitDurable(last); }
void Log::OnDurable(Position last, std::function<void(const Status&)> done) {
  impl_->OnDurable(last, std::move(done));
}
Position Log::durable_head() const { return impl_->durable_head(); }
Sha256Digest Log::head_hash() const { return impl_->head_hash(); }
Position Log::staged_head() const { return impl_->staged_head(); }
Status Log::writer_status() const { return impl_->writer_status(); }
const RecoveryReport& Log::recovery() const { return impl_->recovery(); }
LogStats Log::stats() const { return impl_->stats(); }
Status Log::Scan(Position from, std::size_t max,
                 const std::function<bool(const RecordView&)>& visit) const {
  return impl_->Scan(from, max, visit);
}
bool Log::WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const {
  return impl_->WaitForDurable(p, deadline);
}

}  // namespace cqrs::log
