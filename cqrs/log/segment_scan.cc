#include "cqrs/log/segment_scan.h"

#include <algorithm>
#include <string>

#include "cqrs/log/format.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_reader.h"

namespace cqrs::log {

namespace {

Status CorruptAt(const SegmentFile& file, std::uint64_t offset, Position position, std::string_view what) {
  return Corruption(file.path.filename().string() + " offset " + std::to_string(offset) + " (position " +
                    std::to_string(position.value()) + "): " + std::string(what));
}

struct LaterRecords {
  bool any = false;          // a record that decodes cleanly
  bool batch_start = false;  // ... and one of them starts a batch
  Position max_position;     // the highest position among them
};

// Every record that decodes cleanly, with a position after `after`, starting in [from, end).
Result<LaterRecords> ValidRecordsAfter(int fd, const std::filesystem::path& path, std::uint64_t from, std::uint64_t end,
                                       Position after) {
  LaterRecords out;
  if (from >= end) return out;
  // The suspect region is read whole: it is at most one segment, and this runs only when a
  // segment ends in bad bytes.
  std::string buf(static_cast<std::size_t>(end - from), '\0');
  ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd, buf.data(), buf.size(), from, path));
  buf.resize(got);
  const std::uint64_t max_records = buf.size() / (format::kFrameBytes + format::kMinBodyBytes) + 1;
  for (std::size_t i = 0; i + format::kFrameBytes + format::kMinBodyBytes <= buf.size(); ++i) {
    // Cheap filters before the CRC: a plausible length and a plausible position.
    const auto len = format::BodyLength(format::Load<std::uint32_t>(buf.data() + i));
    if (len < format::kMinBodyBytes || len > buf.size() - i - format::kFrameBytes) continue;
    const auto pos = format::Load<std::uint64_t>(buf.data() + i + format::kFrameBytes);
    if (pos <= after.value() || pos > after.value() + max_records) continue;
    const Decoded d = DecodeRecord(std::string_view(buf).substr(i));
    if (d.outcome != DecodeOutcome::kOk) continue;
    out.any = true;
    out.batch_start = out.batch_start || d.starts_batch;
    out.max_position = std::max(out.max_position, Position(pos));
    i += d.record_bytes - 1;  // the next record cannot start inside this one
  }
  return out;
}

}  // namespace

Result<bool> HasValidRecordAfter(int fd, const std::filesystem::path& path, std::uint64_t from, std::uint64_t end,
                                 Position after) {
  ASSIGN_OR_RETURN(LaterRecords later, ValidRecordsAfter(fd, path, from, end, after));
  return later.any;
}

Result<BadTail> ClassifyBadTail(int fd, const std::filesystem::path& path, std::uint64_t bad, std::uint64_t end,
                                Position after, bool marks_batches) {
  ASSIGN_OR_RETURN(LaterRecords later, ValidRecordsAfter(fd, path, bad + 1, end, after));
  BadTail out;
  // Without batch marks (a segment from an older writer) any valid record after the damage may
  // be acknowledged. With them, a later batch's start proves the damaged batch was synced (the
  // writer starts a batch only after the previous one's fdatasync); records of the damaged
  // batch itself prove nothing, as a power loss may persist its pages in any order.
  out.torn = marks_batches ? !later.batch_start : !later.any;
  out.cut.first = after.next();
  out.cut.last_seen = later.max_position;
  // The damaged record's own position field may still be readable.
  char frame[format::kFrameBytes + 8];
  ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd, frame, sizeof frame, bad, path));
  if (got == sizeof frame && format::Load<std::uint64_t>(frame + format::kFrameBytes) == after.next().value()) {
    out.cut.last_seen = std::max(out.cut.last_seen, after.next());
  }
  return out;
}

Result<SegmentScan> ScanSegment(const SegmentFile& file, int fd, Position expected_first, SegmentRole role,
                                std::uint32_t index_interval, const std::function<void(const RecordView&)>& on_record) {
  ASSIGN_OR_RETURN(const std::uint64_t size, FileSize(fd, file.path));
  SegmentScan scan;
  scan.index = SparseIndex(index_interval);
  scan.last = Position(expected_first.value() - 1);

  std::string header(format::kSegmentHeaderBytes, '\0');
  ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd, header.data(), header.size(), 0, file.path));
  header.resize(got);
  auto first = DecodeSegmentHeader(header);
  if (!first.ok()) {
    // A segment whose header never became durable holds nothing acknowledged: the writer syncs
    // the header before it writes a record into a new segment.
    if (role == SegmentRole::kLast) {
      ASSIGN_OR_RETURN(bool later, HasValidRecordAfter(fd, file.path, 0, size, scan.last));
      if (!later) {
        scan.torn_bytes = size;
        scan.cut.first = scan.last.next();
        return scan;
      }
    }
    return CorruptAt(file, 0, expected_first, first.status().message());
  }
  if (*first != expected_first || *first != file.first) {
    return CorruptAt(file, 0, expected_first, "segment header says first position " + std::to_string(first->value()));
  }

  SegmentReader reader(fd, file.path, format::kSegmentHeaderBytes, size);
  scan.valid_bytes = format::kSegmentHeaderBytes;
  while (true) {
    ASSIGN_OR_RETURN(SegmentReader::Next n, reader.Read());
    if (n.kind == SegmentReader::Kind::kEnd) return scan;
    if (n.kind == SegmentReader::Kind::kZeros) {
      ASSIGN_OR_RETURN(bool zeros, AllZeros(fd, file.path, n.offset, size));
      if (zeros) {
        scan.zero_tail = true;
        return scan;
      }
    }
    const Position want = scan.last.next();
    if (n.kind == SegmentReader::Kind::kRecord) {
      if (n.view.position != want) {
        return CorruptAt(
            file, n.offset, want,
            "expected position " + std::to_string(want.value()) + ", found " + std::to_string(n.view.position.value()));
      }
      scan.index.Add(n.view.position, n.offset);
      if (on_record) on_record(n.view);
      scan.last = n.view.position;
      scan.last_hash = n.view.hash;
      scan.valid_bytes = n.offset + n.raw.size();
      ++scan.records;
      continue;
    }
    // A bad or incomplete record.
    if (role == SegmentRole::kLast) {
      ASSIGN_OR_RETURN(BadTail tail,
                       ClassifyBadTail(fd, file.path, n.offset, size, scan.last, HeaderMarksBatches(header)));
      if (tail.torn) {
        scan.torn_bytes = size - n.offset;
        scan.cut = tail.cut;
        return scan;
      }
    }
    return CorruptAt(file, n.offset, want, n.detail);
  }
}

}  // namespace cqrs::log
