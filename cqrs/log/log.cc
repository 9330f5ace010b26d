#include <fcntl.h>
#include <unistd.h>

#include "cqrs/core/thread_name.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log_impl.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_reader.h"

namespace cqrs::log {

namespace fs = std::filesystem;

Log::Impl::~Impl() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  work_cv_.SignalAll();
  space_cv_.SignalAll();
  if (writer_.joinable()) writer_.join();
  {
    MutexLock lock(spare_mu_);
    spare_stopping_ = true;
  }
  spare_cv_.SignalAll();
  if (preparer_.joinable()) preparer_.join();
  {
    MutexLock lock(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.SignalAll();
  if (completer_.joinable()) completer_.join();
}

void Log::Impl::CompleterLoop() {
  while (true) {
    std::vector<Completion> work;
    {
      MutexLock lock(done_mu_);
      while (done_queue_.empty() && !done_stopping_) done_cv_.Wait(done_mu_);
      if (done_queue_.empty()) return;  // stopping, and every acknowledgement delivered
      work.swap(done_queue_);
    }
    for (Completion& c : work) {
      for (auto& cb : c.callbacks) cb(c.status);
    }
  }
}

Segment* Log::Impl::AddSegmentLocked(Position first) {
  auto seg = std::make_unique<Segment>();
  seg->first = first;
  seg->path = opt_.dir / SegmentFileName(first);
  seg->index = SparseIndex(opt_.index_interval_bytes);
  seg->durable_bytes = format::kSegmentHeaderBytes;
  Segment* raw = seg.get();
  WriterMutexLock table(table_mu_);
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

  MutexLock lock(mu_);
  while (queued_bytes_ >= kMaxQueuedBytes && poison_.ok() && !stopping_) space_cv_.Wait(mu_);
  if (!poison_.ok()) return Poisoned("log writer failed earlier: " + poison_.message());
  if (stopping_) return Unavailable("log is closing");

  PositionRange range{staged_head_.next(), staged_head_ + drafts.size()};
  std::vector<SparseIndex::Entry> index_adds;
  index_adds.reserve(drafts.size());
  for (const RecordDraft& d : drafts) {
    const std::size_t size = EncodedSize(d);
    const bool used = staged_segment_ != nullptr && staged_segment_bytes_ > format::kSegmentHeaderBytes;
    const bool full = used && staged_segment_bytes_ + size > opt_.segment_bytes;
    // A segment written the plain way (no spare was ready when it started) is left early once a
    // spare is ready: the rest of the data then goes to the faster, preallocated kind of file.
    const bool upgrade = used && spare_ready_.load() && staged_segment_->state.load() == SegmentFileState::kAppending;
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
    WriterMutexLock table(table_mu_);
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
  lock.Unlock();
  work_cv_.Signal();
  return range;
}

void Log::Impl::WriterLoop() {
  while (true) {
    std::vector<Chunk> batch;
    Status failed;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stopping_) work_cv_.Wait(mu_);
      if (queue_.empty()) return;  // stopping, and everything staged has been written
      batch.swap(queue_);
      queued_bytes_ = 0;
      failed = poison_;
    }
    space_cv_.SignalAll();
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
    WriterMutexLock table(table_mu_);
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
    // Mark the first record written after this segment's last fdatasync (format.h): recovery
    // can then tell the damaged tail of an unsynced batch from damage before a synced one.
    chunk.bytes[3] = static_cast<char>(static_cast<unsigned char>(chunk.bytes[3]) | 0x80);
    RETURN_IF_ERROR(WriteAllAt(active_fd_.get(), chunk.bytes, chunk.end_offset - chunk.bytes.size(), active_->path));
  }
  return SyncData(active_fd_.get(), active_->path);
}

void Log::Impl::Finish(const std::vector<Chunk>& batch, Status status) {
  std::vector<DurableCallback> ready;
  Status outcome;
  {
    MutexLock lock(mu_);
    if (status.ok()) {
      {
        WriterMutexLock table(table_mu_);
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
          MutexLock spare_lock(spare_mu_);
          spare_wanted_ = true;
        }
        spare_cv_.SignalAll();
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
  durable_cv_.SignalAll();
  if (!status.ok()) space_cv_.SignalAll();
  if (ready.empty()) return;
  {
    MutexLock lock(done_mu_);
    done_queue_.push_back({std::move(ready), std::move(outcome)});
  }
  done_cv_.Signal();
}

Status Log::Impl::AwaitDurable(Position last) {
  if (durable_head() >= last) return Status::Ok();
  // Each waiter gets its own semaphore, released by the writer for exactly the waiters its batch
  // made durable: a broadcast would wake every appender to re-check, and with dozens of
  // appenders that convoy on the mutex costs more than the fdatasync they share.
  struct Waiter {
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    Status status GUARDED_BY(mu);
  } w;
  OnDurable(last, [&w](const Status& st) {
    MutexLock lock(w.mu);
    w.status = st;
    w.done = true;
    w.cv.Signal();  // under the lock: `w` lives on the waiter's stack
  });
  MutexLock lock(w.mu);
  while (!w.done) w.cv.Wait(w.mu);
  return w.status;
}

void Log::Impl::OnDurable(Position last, DurableCallback done) {
  Status now;
  {
    MutexLock lock(mu_);
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
  MutexLock lock(mu_);
  while (durable_head() < p && poison_.ok()) {
    if (!durable_cv_.WaitUntil(mu_, deadline)) break;
  }
  return durable_head() >= p;
}

Status Log::Impl::Scan(Position from, std::size_t max, const std::function<bool(const RecordView&)>& visit) const {
  if (from.value() == 0) from = Position(1);
  const Position head = durable_head();
  Position want = from;
  std::size_t visited = 0;
  while (want <= head && visited < max) {
    int fd = -1;
    fs::path path;
    std::uint64_t start = 0, end = 0;
    {
      ReaderMutexLock table(table_mu_);
      auto it = std::upper_bound(segments_.begin(), segments_.end(), want,
                                 [](Position p, const std::unique_ptr<Segment>& s) { return p < s->first; });
      if (it == segments_.begin()) return Internal("no segment holds position " + std::to_string(want.value()));
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
        return Corruption(path.filename().string() + " offset " + std::to_string(n.offset) + ": " + n.detail);
      }
      if (n.view.position < want) continue;  // scanning forward from the sparse-index entry
      if (n.view.position != want) {
        return Corruption(path.filename().string() + " offset " + std::to_string(n.offset) + ": expected position " +
                          std::to_string(want.value()) + ", found " + std::to_string(n.view.position.value()));
      }
      progressed = true;
      ++visited;
      ++want;
      if (!visit(n.view)) return Status::Ok();
    }
    if (!progressed && want <= head && visited < max) {
      return Internal("position " + std::to_string(want.value()) + " not found in " + path.filename().string());
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
  if (options.index_interval_bytes == 0) return InvalidArgument("index_interval_bytes: must be > 0");
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Recover());
  impl->StartWriter();
  return std::unique_ptr<Log>(new Log(std::move(impl)));
}

Result<PositionRange> Log::Stage(std::span<const RecordDraft> d) { return impl_->Stage(d); }
Status Log::AwaitDurable(Position last) { return impl_->AwaitDurable(last); }
void Log::OnDurable(Position last, std::function<void(const Status&)> done) { impl_->OnDurable(last, std::move(done)); }
Position Log::durable_head() const { return impl_->durable_head(); }
Sha256Digest Log::head_hash() const { return impl_->head_hash(); }
Position Log::staged_head() const { return impl_->staged_head(); }
Status Log::writer_status() const { return impl_->writer_status(); }
const RecoveryReport& Log::recovery() const { return impl_->recovery(); }
LogStats Log::stats() const { return impl_->stats(); }
Status Log::Scan(Position from, std::size_t max, const std::function<bool(const RecordView&)>& visit) const {
  return impl_->Scan(from, max, visit);
}
bool Log::WaitForDurable(Position p, std::chrono::steady_clock::time_point deadline) const {
  return impl_->WaitForDurable(p, deadline);
}

}  // namespace cqrs::log
