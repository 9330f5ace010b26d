#include "cqrs/log/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "cqrs/log/format.h"
#include "cqrs/log/segment_file.h"

namespace cqrs::log {

SegmentReader::SegmentReader(int fd, std::filesystem::path path, std::uint64_t start, std::uint64_t end,
                             std::size_t read_ahead)
    : fd_(fd),
      path_(std::move(path)),
      offset_(start),
      end_(end),
      // Never more than the range holds: a tailing reader reads a few records at a time, and a
      // 1 MiB buffer it zero-fills for each of them cost more than decoding them.
      read_ahead_(static_cast<std::size_t>(
          std::clamp<std::uint64_t>(end > start ? end - start : 0, 64, std::max<std::size_t>(read_ahead, 64)))) {}

Status SegmentReader::Fill(std::size_t need) {
  const std::uint64_t left_in_file = end_ - offset_;
  need = static_cast<std::size_t>(std::min<std::uint64_t>(need, left_in_file));
  if (buf_len_ - buf_pos_ >= need) return Status::Ok();
  // Move the unread tail to the front, then read as much as fits.
  const std::size_t have = buf_len_ - buf_pos_;
  const std::size_t want = std::max(need, read_ahead_);
  if (buf_.size() < want) buf_.resize(want);
  if (have > 0 && buf_pos_ > 0) std::memmove(buf_.data(), buf_.data() + buf_pos_, have);
  buf_pos_ = 0;
  buf_len_ = have;
  const std::uint64_t read_at = offset_ + have;
  const std::size_t to_read = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size() - have, end_ - read_at));
  ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd_, buf_.data() + have, to_read, read_at, path_));
  buf_len_ += got;
  return Status::Ok();
}

Result<SegmentReader::Next> SegmentReader::Read() {
  Next n;
  n.offset = offset_;
  if (offset_ >= end_) {
    n.kind = Kind::kEnd;
    return n;
  }
  RETURN_IF_ERROR(Fill(format::kFrameBytes));
  std::string_view avail(buf_.data() + buf_pos_, buf_len_ - buf_pos_);
  if (avail.size() >= format::kFrameBytes) {
    const auto body_len = format::BodyLength(format::Load<std::uint32_t>(avail.data()));
    if (body_len <= kMaxRecordBytes) {
      RETURN_IF_ERROR(Fill(format::kFrameBytes + body_len));
      avail = std::string_view(buf_.data() + buf_pos_, buf_len_ - buf_pos_);
    }
  }
  // A zero length field, or fewer than four bytes left and all zero: the preallocated rest of a
  // segment whose last record ended a few bytes before its end.
  const std::size_t probe = std::min<std::size_t>(avail.size(), 4);
  if (probe > 0 &&
      std::all_of(avail.begin(), avail.begin() + static_cast<std::ptrdiff_t>(probe), [](char c) { return c == 0; })) {
    n.kind = Kind::kZeros;
    n.detail = "zero length";
    return n;
  }
  Decoded d = DecodeRecord(avail);
  switch (d.outcome) {
    case DecodeOutcome::kOk:
      n.kind = Kind::kRecord;
      n.view = d.view;
      n.raw = avail.substr(0, d.record_bytes);
      buf_pos_ += d.record_bytes;
      offset_ += d.record_bytes;
      return n;
    case DecodeOutcome::kIncomplete:
      n.kind = Kind::kIncomplete;
      n.detail = d.detail;
      return n;
    case DecodeOutcome::kBadFrame:
      n.kind = Kind::kBadFrame;
      n.detail = d.detail;
      return n;
  }
  return n;
}

}  // namespace cqrs::log
