#include "cqrs/log/segment_scan.h"

#include <string>

#include "cqrs/log/format.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_reader.h"

namespace cqrs::log {

namespace {

Status CorruptAt(const SegmentFile& file, std::uint64_t offset, Position position,
                 std::string_view what) {
  return Corruption(file.path.filename().string() + " offset " + std::to_string(offset) +
                    " (position " + std::to_string(position.value()) + "): " + std::string(what));
}

}  // namespace

Result<bool> HasValidRecordAfter(int fd, const std::filesystem::path& path, std::uint64_t from,
                                 std::uint64_t end, Position after) {
  if (from >= end) return false;
  // The suspect region is read whole: it is at most one segment, and this runs only when a
  // segment ends in bad bytes.
  std::string buf(static_cast<std::size_t>(end - from), '\0');
  ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd, buf.data(), buf.size(), from, path));
  buf.resize(got);
  const std::uint64_t max_records = buf.size() / (format::kFrameBytes + format::kMinBodyBytes) + 1;
  for (std::size_t i = 0; i + format::kFrameBytes + format::kMinBodyBytes <= buf.size(); ++i) {
    // Cheap filters before the CRC: a plausible length and a plausible position.
    const auto len = format::Load<std::uint32_t>(buf.data() + i);
    if (len < format::kMinBodyBytes || len > buf.size() - i - format::kFrameBytes) continue;
    const auto pos = format::Load<std::uint64_t>(buf.data() + i + format::kFrameBytes);
    if (pos <= after.value() || pos > after.value() + max_records) continue;
    if (DecodeRecord(std::string_view(buf).substr(i)).outcome == DecodeOutcome::kOk) return true;
  }
  return false;
}

Result<SegmentScan> ScanSegment(const SegmentFile& file, int fd, Position expected_first,
                                SegmentRole role, std::uint32_t index_interval,
                                const std::function<void(const RecordView&)>& on_record) {
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
        return scan;
      }
    }
    return CorruptAt(file, 0, expected_first, first.status().message());
  }
  if (*first != expected_first || *first != file.first) {
    return CorruptAt(file, 0, expected_first,
                     "segment header says first position " + std::to_string(first->value()));
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
        return CorruptAt(file, n.offset, want,
                         "expected position " + std::to_string(want.value()) + ", found " +
                             std::to_string(n.view.position.value()));
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
      ASSIGN_OR_RETURN(bool later,
                       HasValidRecordAfter(fd, file.path, n.offset + 1, size, scan.last));
      if (!later) {
        scan.torn_bytes = size - n.offset;
        return scan;
      }
    }
    return CorruptAt(file, n.offset, want, n.detail);
  }
}

}  // namespace cqrs::log
