#include "cqrs/log/verify.h"

#include <fcntl.h>

#include "cqrs/log/format.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_reader.h"
#include "cqrs/log/segment_scan.h"

namespace cqrs::log {

namespace {

void Report(VerifyReport& r, Position at, const SegmentFile& file, std::uint64_t offset, std::string reason) {
  r.problem = VerifyProblem{at, file.path.filename().string(), offset, std::move(reason)};
}

}  // namespace

Result<VerifyReport> VerifyLog(const std::filesystem::path& dir) { return WalkLog(dir, nullptr); }

Result<VerifyReport> WalkLog(const std::filesystem::path& dir,
                             const std::function<bool(const RecordView&, const RecordPlace&)>& visit) {
  ASSIGN_OR_RETURN(std::vector<SegmentFile> files, ListSegments(dir));
  VerifyReport r;
  Position expected(1);
  Sha256Digest chain{};
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SegmentFile& file = files[i];
    const bool last_segment = i + 1 == files.size();
    ASSIGN_OR_RETURN(Fd fd, OpenFile(file.path, O_RDONLY));
    ASSIGN_OR_RETURN(const std::uint64_t size, FileSize(fd.get(), file.path));
    std::string header(format::kSegmentHeaderBytes, '\0');
    ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd.get(), header.data(), header.size(), 0, file.path));
    header.resize(got);
    auto first = DecodeSegmentHeader(header);
    if (!first.ok()) {
      if (last_segment && size <= format::kSegmentHeaderBytes) {
        r.torn_tail_bytes = size;  // a segment created at a crash, before its header was durable
        return r;
      }
      Report(r, expected, file, 0, first.status().message());
      return r;
    }
    if (*first != expected || file.first != expected) {
      Report(r, expected, file, 0,
             "segment starts at position " + std::to_string(first->value()) + ", expected " +
                 std::to_string(expected.value()));
      return r;
    }
    SegmentReader reader(fd.get(), file.path, format::kSegmentHeaderBytes, size);
    while (true) {
      ASSIGN_OR_RETURN(SegmentReader::Next n, reader.Read());
      if (n.kind == SegmentReader::Kind::kEnd) break;
      if (n.kind == SegmentReader::Kind::kZeros) {
        ASSIGN_OR_RETURN(bool zeros, AllZeros(fd.get(), file.path, n.offset, size));
        if (zeros) break;  // the preallocated, unwritten rest of the segment
      }
      if (n.kind != SegmentReader::Kind::kRecord) {
        if (last_segment) {
          ASSIGN_OR_RETURN(BadTail tail, ClassifyBadTail(fd.get(), file.path, n.offset, size,
                                                         Position(expected.value() - 1), HeaderMarksBatches(header)));
          if (tail.torn) {
            r.torn_tail_bytes = size - n.offset;
            return r;
          }
        }
        Report(r, expected, file, n.offset, n.detail);
        return r;
      }
      if (n.view.position != expected) {
        Report(r, expected, file, n.offset,
               "expected position " + std::to_string(expected.value()) + ", found " +
                   std::to_string(n.view.position.value()));
        return r;
      }
      const Sha256Digest want = ChainHash(chain, BodyOf(n.raw));
      if (want != n.view.hash) {
        Report(r, expected, file, n.offset,
               "hash chain broken: the record's bytes, or a record before it, were changed");
        return r;
      }
      if (visit && !visit(n.view, RecordPlace{&file.path, file.first, n.offset, chain})) return r;
      chain = want;
      r.head_hash = want;
      ++r.records;
      ++expected;
    }
  }
  return r;
}

}  // namespace cqrs::log
