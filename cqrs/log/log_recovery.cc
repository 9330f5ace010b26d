// Log::Impl: opening (recovery of every segment) and the spare, preallocated segment.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "cqrs/core/thread_name.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log_impl.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_scan.h"

namespace cqrs::log {

namespace fs = std::filesystem;

void Log::Impl::PreparerLoop() {
  const fs::path tmp = opt_.dir / kSpareTmpName;
  const fs::path spare = opt_.dir / kSpareName;
  while (true) {
    {
      MutexLock lock(spare_mu_);
      while (!spare_stopping_ && !(spare_wanted_ && !spare_ready_.load())) spare_cv_.Wait(spare_mu_);
      if (spare_stopping_) return;
    }
    Status st = CreateZeroFilledFile(tmp, opt_.segment_bytes, [this] {
      MutexLock lock(spare_mu_);
      return spare_stopping_;
    });
    if (st.ok()) st = RenameFile(tmp, spare);
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
  RETURN_IF_ERROR(RenameFile(spare, segment->path));
  {
    MutexLock lock(spare_mu_);
    spare_ready_.store(false);
  }
  spare_cv_.SignalAll();
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
  std::vector<std::unique_ptr<Segment>> found;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SegmentFile& file = files[i];
    const SegmentRole role = i + 1 == files.size() ? SegmentRole::kLast : SegmentRole::kSealed;
    ASSIGN_OR_RETURN(Fd fd, OpenFile(file.path, O_RDONLY));
    ASSIGN_OR_RETURN(SegmentScan scan,
                     ScanSegment(file, fd.get(), expected, role, opt_.index_interval_bytes, opt_.on_recover));
    if (scan.torn_bytes > 0) {
      report_.truncated_bytes += scan.torn_bytes;
      report_.truncated_segment = file.path.filename().string();
      report_.truncated_at = scan.valid_bytes;
      report_.first_truncated = scan.cut.first;
      report_.last_truncated_seen = scan.cut.last_seen;
      if (scan.valid_bytes == 0) {  // not even a durable header: the segment never held a record
        RETURN_IF_ERROR(RemoveFile(file.path));
        RETURN_IF_ERROR(SyncDir(opt_.dir));
        continue;
      }
      ASSIGN_OR_RETURN(Fd wfd, OpenFile(file.path, O_WRONLY));
      RETURN_IF_ERROR(TruncateFile(wfd.get(), scan.valid_bytes, file.path));
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
    found.push_back(std::move(seg));
  }

  Segment* last = found.empty() ? nullptr : found.back().get();
  if (last != nullptr) {
    ASSIGN_OR_RETURN(active_fd_, OpenFile(last->path, O_WRONLY));
    // What is served from now on must be durable, whether recovery cut a tail or not: after a
    // kill the last batch may be in the page cache only, never synced.
    RETURN_IF_ERROR(SyncData(active_fd_.get(), last->path));
    active_ = last;
  }
  // No other thread runs yet: the locks are for the analysis, and cost nothing here.
  MutexLock lock(mu_);
  staged_head_ = Position(expected.value() - 1);
  staged_hash_ = durable_hash_ = hash;
  durable_head_.store(staged_head_.value(), std::memory_order_release);
  if (last != nullptr) {
    staged_segment_ = last;
    staged_segment_bytes_ = last->durable_bytes;
  }
  WriterMutexLock table(table_mu_);
  segments_ = std::move(found);
  return Status::Ok();
}

}  // namespace cqrs::log
