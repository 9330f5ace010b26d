#include "cqrs/store/log_snapshot_store.h"

#include <fcntl.h>

#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/log/format.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_reader.h"
#include "cqrs/log/verify.h"
#include "cqrs/store/past_view.h"
#include "cqrs/store/recorded_event.h"

namespace cqrs {

namespace {

// A segment of the snapshot and the chain hash before its first record (checked again on read).
struct SnapshotSegment {
  log::SegmentFile file;
  Sha256Digest chain_before{};
};

class LogSnapshotStore final : public PastView {
 public:
  LogSnapshotStore(std::vector<SnapshotSegment> segments, Position head)
      : PastView(head), segments_(std::move(segments)) {}

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override {
    std::vector<RecordedEvent> out;
    RETURN_IF_ERROR(Scan(Position(1), [&](const log::RecordView& v) {
      if (v.stream == stream && v.version >= from) out.push_back(ToRecorded(v));
      return out.size() < max;
    }));
    return out;
  }

  Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const override {
    std::vector<RecordedEvent> out;
    if (max == 0) return out;
    RETURN_IF_ERROR(Scan(from, [&](const log::RecordView& v) {
      out.push_back(ToRecorded(v));
      return out.size() < max;
    }));
    return out;
  }

  Result<StreamVersion> GetStreamVersion(std::string_view stream) const override {
    StreamVersion version(0);
    RETURN_IF_ERROR(Scan(Position(1), [&](const log::RecordView& v) {
      if (v.stream == stream) version = v.version;
      return true;
    }));
    return version;
  }

 private:
  // Visits the snapshot's records from `from` (up to its head) until `visit` returns false,
  // checking frames and the chain again (the bytes are read anew).
  Status Scan(Position from, const std::function<bool(const log::RecordView&)>& visit) const {
    if (from.value() == 0) from = Position(1);
    if (from > head_) return Status::Ok();
    MutexLock lock(mu_);
    std::size_t i = 0;
    while (i + 1 < segments_.size() && segments_[i + 1].file.first <= from) ++i;
    for (; i < segments_.size(); ++i) {
      const SnapshotSegment& seg = segments_[i];
      ASSIGN_OR_RETURN(log::Fd fd, log::OpenFile(seg.file.path, O_RDONLY));
      ASSIGN_OR_RETURN(const std::uint64_t size, log::FileSize(fd.get(), seg.file.path));
      log::SegmentReader reader(fd.get(), seg.file.path, log::format::kSegmentHeaderBytes, size);
      Sha256Digest chain = seg.chain_before;
      while (true) {
        ASSIGN_OR_RETURN(log::SegmentReader::Next n, reader.Read());
        if (n.kind != log::SegmentReader::Kind::kRecord) {
          // The walk at open found every position up to the head: ending early means the bytes
          // changed since.
          return Corruption(seg.file.path.string() + " offset " + std::to_string(n.offset) +
                            ": the log changed under the snapshot (" + n.detail + ")");
        }
        const Sha256Digest want = log::ChainHash(chain, log::BodyOf(n.raw));
        if (want != n.view.hash) {
          return Corruption(seg.file.path.string() + " offset " + std::to_string(n.offset) +
                            ": hash chain broken at position " + std::to_string(n.view.position.value()));
        }
        chain = want;
        if (n.view.position >= from && !visit(n.view)) return Status::Ok();
        if (n.view.position >= head_) return Status::Ok();
        if (i + 1 < segments_.size() && n.view.position.next() == segments_[i + 1].file.first) break;
      }
    }
    return Status::Ok();
  }

  const std::vector<SnapshotSegment> segments_;
  mutable Mutex mu_;  // one scan at a time: keeps open files and memory bounded
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenLogSnapshot(const LogSnapshotOptions& options) {
  std::vector<SnapshotSegment> segments;
  Position head(0);
  const LogPoint& until = options.until;
  ASSIGN_OR_RETURN(log::VerifyReport report,
                   log::WalkLog(options.dir, [&](const log::RecordView& v, const log::RecordPlace& place) {
                     if (until.position && v.position > *until.position) return false;
                     if (until.time && v.timestamp_us > *until.time) return false;
                     if (segments.empty() || segments.back().file.path != *place.segment) {
                       segments.push_back({{place.segment_first, *place.segment}, place.previous});
                     }
                     head = v.position;
                     return true;
                   }));
  if (report.problem) {
    const log::VerifyProblem& p = *report.problem;
    return Corruption("the log is damaged at position " + std::to_string(p.position.value()) + " (" + p.segment +
                      " offset " + std::to_string(p.offset) + "): " + p.reason);
  }
  if (until.position && head < *until.position) {
    return InvalidArgument("position " + std::to_string(until.position->value()) + " is past the log's end (" +
                           std::to_string(head.value()) + ")");
  }
  return std::unique_ptr<EventStore>(new LogSnapshotStore(std::move(segments), head));
}

}  // namespace cqrs
