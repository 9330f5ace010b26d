#include "cqrs/log/segment_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "cqrs/core/crc32c.h"
#include "cqrs/log/file_observer.h"
#include "cqrs/log/format.h"

namespace cqrs::log {

namespace fs = std::filesystem;

namespace {
std::atomic<FileObserver*> g_observer{nullptr};
}  // namespace

void SetFileObserver(FileObserver* observer) { g_observer.store(observer, std::memory_order_release); }
FileObserver* CurrentFileObserver() { return g_observer.load(std::memory_order_acquire); }

std::string SegmentFileName(Position first) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(first.value()));
  return std::string(buf) + std::string(format::kSegmentSuffix);
}

Result<std::vector<SegmentFile>> ListSegments(const fs::path& dir) {
  std::error_code ec;
  std::vector<SegmentFile> out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 20 + format::kSegmentSuffix.size() || !name.ends_with(format::kSegmentSuffix)) {
      continue;
    }
    std::uint64_t first = 0;
    auto [ptr, err] = std::from_chars(name.data(), name.data() + 20, first);
    if (err != std::errc() || ptr != name.data() + 20) continue;
    out.push_back({Position(first), entry.path()});
  }
  if (ec) return ErrnoError("list " + dir.string(), ec.value());
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.first < b.first; });
  return out;
}

std::string EncodeSegmentHeader(Position first) {
  std::string h(format::kSegmentHeaderBytes, '\0');
  std::memcpy(h.data(), format::kSegmentMagic.data(), format::kSegmentMagic.size());
  format::Store<std::uint32_t>(h.data() + 8, format::kFormatVersion);
  format::Store<std::uint32_t>(h.data() + 12, format::kSegmentHeaderBytes);
  format::Store<std::uint64_t>(h.data() + 16, first.value());
  format::Store<std::uint32_t>(h.data() + format::kOffHeaderFlags, format::kHeaderMarksBatches);
  format::Store<std::uint32_t>(h.data() + 28, crc32c::Value(h.data(), 28));
  return h;
}

Result<Position> DecodeSegmentHeader(std::string_view h) {
  if (h.size() < format::kSegmentHeaderBytes) return Corruption("segment header: truncated");
  if (h.substr(0, 8) != format::kSegmentMagic) return Corruption("segment header: bad magic");
  if (format::Load<std::uint32_t>(h.data() + 28) != crc32c::Value(h.data(), 28)) {
    return Corruption("segment header: crc mismatch");
  }
  if (format::Load<std::uint32_t>(h.data() + 8) != format::kFormatVersion) {
    return Corruption("segment header: unsupported format version");
  }
  return Position(format::Load<std::uint64_t>(h.data() + 16));
}

bool HeaderMarksBatches(std::string_view h) {
  return h.size() >= format::kSegmentHeaderBytes &&
         (format::Load<std::uint32_t>(h.data() + format::kOffHeaderFlags) & format::kHeaderMarksBatches) != 0;
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Fd> OpenFile(const fs::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("open " + path.string(), errno);
  if (FileObserver* o = CurrentFileObserver(); o != nullptr && (flags & O_CREAT) != 0) {
    o->Opened(path, (flags & O_EXCL) != 0    ? FileObserver::Open::kCreateNew
                    : (flags & O_TRUNC) != 0 ? FileObserver::Open::kCreateOrTruncate
                                             : FileObserver::Open::kCreateOrKeep);
  }
  return Fd(fd);
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  if (CurrentFileObserver() != nullptr) {  // it needs the offset: write where the file stands
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at < 0) return ErrnoError("seek " + path.string(), errno);
    RETURN_IF_ERROR(WriteAllAt(fd, bytes, static_cast<std::uint64_t>(at), path));
    if (::lseek(fd, at + static_cast<off_t>(bytes.size()), SEEK_SET) < 0)
      return ErrnoError("seek " + path.string(), errno);
    return Status::Ok();
  }
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + path.string(), errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Result<std::size_t> PreadSome(int fd, char* buf, std::size_t n, std::uint64_t offset, const fs::path& path) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + path.string(), errno);
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}

Status WriteAllAt(int fd, std::string_view bytes, std::uint64_t offset, const fs::path& path) {
  if (FileObserver* o = CurrentFileObserver()) o->Wrote(path, offset, bytes);
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + path.string(), errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

namespace {
constexpr std::size_t kZeroChunk = 1u << 20;
const std::string& ZeroChunk() {
  static const std::string zeros(kZeroChunk, '\0');
  return zeros;
}
}  // namespace

Result<bool> AllZeros(int fd, const fs::path& path, std::uint64_t from, std::uint64_t end) {
  std::string buf(kZeroChunk, '\0');
  while (from < end) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeroChunk, end - from));
    ASSIGN_OR_RETURN(std::size_t got, PreadSome(fd, buf.data(), n, from, path));
    if (got == 0) return true;
    if (std::memcmp(buf.data(), ZeroChunk().data(), got) != 0) return false;
    from += got;
  }
  return true;
}

Status CreateZeroFilledFile(const fs::path& path, std::uint64_t size, const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(Fd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC));
  for (std::uint64_t at = 0; at < size; at += kZeroChunk) {
    if (cancelled && cancelled()) return Unavailable("cancelled");
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeroChunk, size - at));
    RETURN_IF_ERROR(WriteAll(fd.get(), std::string_view(ZeroChunk()).substr(0, n), path));
    // Write back as we go, a few MiB at a time: one large burst of writeback at the end would
    // queue ahead of the log's own fdatasyncs on the same device and stall appends.
    if ((at / kZeroChunk) % 8 == 7) {
      ::sync_file_range(fd.get(), static_cast<off_t>(at + n - 8 * kZeroChunk), 8 * kZeroChunk,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
  }
  return SyncData(fd.get(), path);
}

Status SyncData(int fd, const fs::path& path) {
  if (::fdatasync(fd) != 0) return ErrnoError("fdatasync " + path.string(), errno);
  if (FileObserver* o = CurrentFileObserver()) o->SyncedData(path);
  return Status::Ok();
}

Status SyncDir(const fs::path& dir) {
  ASSIGN_OR_RETURN(Fd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync " + dir.string(), errno);
  if (FileObserver* o = CurrentFileObserver()) o->SyncedDir(dir);
  return Status::Ok();
}

Result<std::uint64_t> FileSize(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("stat " + path.string(), errno);
  return static_cast<std::uint64_t>(st.st_size);
}

Status RenameFile(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("rename " + from.string(), errno);
  if (FileObserver* o = CurrentFileObserver()) o->Renamed(from, to);
  return Status::Ok();
}

Status TruncateFile(int fd, std::uint64_t size, const fs::path& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return ErrnoError("truncate " + path.string(), errno);
  if (FileObserver* o = CurrentFileObserver()) o->Truncated(path, size);
  return Status::Ok();
}

Status RemoveFile(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove " + path.string(), errno);
  if (FileObserver* o = CurrentFileObserver()) o->Removed(path);
  return Status::Ok();
}

}  // namespace cqrs::log
