// Segment files: naming, headers, and the few POSIX calls the log makes on them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs::log {

struct SegmentFile {
  Position first;  // from the file name
  std::filesystem::path path;
};

// "00000000000000000001.seg"
std::string SegmentFileName(Position first);

// Segment files of `dir`, sorted by first position. Other files are ignored.
Result<std::vector<SegmentFile>> ListSegments(const std::filesystem::path& dir);

std::string EncodeSegmentHeader(Position first);
// The first position a header announces, or kCorruption.
Result<Position> DecodeSegmentHeader(std::string_view header);
// Whether a (valid) header says its records carry batch-start marks (format.h).
bool HeaderMarksBatches(std::string_view header);

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

Result<Fd> OpenFile(const std::filesystem::path& path, int flags, int mode = 0644);
// Writes all bytes (retrying short writes and EINTR) at the file's current offset.
Status WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path);
// Reads up to `n` bytes at `offset`; returns how many were read (short only at end of file).
Result<std::size_t> PreadSome(int fd, char* buf, std::size_t n, std::uint64_t offset,
                              const std::filesystem::path& path);
// Writes all bytes at `offset` (pwrite), retrying short writes and EINTR.
Status WriteAllAt(int fd, std::string_view bytes, std::uint64_t offset, const std::filesystem::path& path);
// Whether bytes [from, end) of the file are all zero.
Result<bool> AllZeros(int fd, const std::filesystem::path& path, std::uint64_t from, std::uint64_t end);
// Creates `path` holding `size` zero bytes, written and synced, so that later writes into it
// overwrite allocated blocks and an fdatasync need not journal a size or extent change.
Status CreateZeroFilledFile(const std::filesystem::path& path, std::uint64_t size,
                            const std::function<bool()>& cancelled);
Status SyncData(int fd, const std::filesystem::path& path);
// fsync of a directory, so that created, renamed or removed entries are durable.
Status SyncDir(const std::filesystem::path& dir);
Result<std::uint64_t> FileSize(int fd, const std::filesystem::path& path);
// rename(2), ftruncate(2), unlink(2) (a missing file is not an error). Like the writes and syncs
// above, these are seen by the FileObserver (file_observer.h).
Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to);
Status TruncateFile(int fd, std::uint64_t size, const std::filesystem::path& path);
Status RemoveFile(const std::filesystem::path& path);

}  // namespace cqrs::log
