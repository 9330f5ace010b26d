// SegmentReader: reads records of one segment file sequentially through a large buffer.
//
// Used by recovery, Log::Scan and VerifyLog. Not thread-safe; one reader per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/log/record_codec.h"

namespace cqrs::log {

class SegmentReader {
 public:
  // Reads [start, end) of the file behind `fd` (not owned; must outlive the reader).
  // `read_ahead` is the size of each read: large for replay, small for point lookups.
  SegmentReader(int fd, std::filesystem::path path, std::uint64_t start, std::uint64_t end,
                std::size_t read_ahead = 1u << 20);

  enum class Kind {
    kRecord,      // `view` and `raw` hold the record; valid until the next call
    kEnd,         // the end offset was reached exactly
    kIncomplete,  // the bytes left before `end` do not hold a whole record
    kBadFrame,    // the record at `offset` failed its checks (`detail` says which)
    kZeros,       // a zero length field: the end of the written data, if only zeros follow
                  // (segments are preallocated with zeros; see AllZeros)
  };
  struct Next {
    Kind kind = Kind::kEnd;
    std::uint64_t offset = 0;  // where this record (or problem) starts
    RecordView view;
    std::string_view raw;  // the whole record, frame included
    const char* detail = "";
  };

  // I/O errors are returned as the Status; record problems are reported in Next.
  Result<Next> Read();

  std::uint64_t offset() const { return offset_; }

 private:
  Status Fill(std::size_t need);

  int fd_;
  std::filesystem::path path_;
  std::uint64_t offset_;  // file offset of the next record
  std::uint64_t end_;
  std::size_t read_ahead_;
  std::string buf_;
  std::size_t buf_pos_ = 0;  // offset_ corresponds to buf_[buf_pos_]
  std::size_t buf_len_ = 0;
};

}  // namespace cqrs::log
