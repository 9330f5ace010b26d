// FileObserver: a process-wide hook that sees every change the log and the consumer offsets
// make to files, in the order they make them, after each call succeeded.
//
// For tests of power loss: an observer records writes and syncs and can then rebuild the files
// as a power cut at any point could have left them (see power_loss_disk.h). Production code
// installs none; the cost is one atomic load per file operation.
//
// Thread-safety: SetFileObserver may be called at any time but is meant for tests, before the
// files are opened; an observer is called from any thread and must be thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace cqrs::log {

class FileObserver {
 public:
  virtual ~FileObserver() = default;
  // open(2) with O_CREAT: `truncated` when O_TRUNC was given, `exclusive` for O_EXCL.
  enum class Open { kCreateOrKeep, kCreateOrTruncate, kCreateNew };
  virtual void Opened(const std::filesystem::path& path, Open how) = 0;
  virtual void Wrote(const std::filesystem::path& path, std::uint64_t offset, std::string_view bytes) = 0;
  virtual void Truncated(const std::filesystem::path& path, std::uint64_t size) = 0;
  virtual void SyncedData(const std::filesystem::path& path) = 0;
  virtual void SyncedDir(const std::filesystem::path& dir) = 0;
  virtual void Renamed(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  virtual void Removed(const std::filesystem::path& path) = 0;
};

// Installs `observer` (nullptr: none). The observer must outlive every file operation made while
// it is installed.
void SetFileObserver(FileObserver* observer);
FileObserver* CurrentFileObserver();

}  // namespace cqrs::log
