// PowerLossDisk: a file layer for tests that knows which bytes a power cut would lose.
//
// Installed as the FileObserver (file_observer.h), it records every create, write, truncate,
// rename, remove and sync the log and the consumer offsets make under one directory. It can then
// rebuild that directory as the disk could hold it after a power cut following any prefix of
// those operations, in the spirit of LevelDB's fault-injection env and RocksDB's
// FaultInjectionTestFS:
//
// - file data written since the file's last fdatasync may be lost, all of it, or torn at page
//   (4 KiB) granularity and persisted out of order: any one page alone, or all but any one
//   (a page not persisted reads as zeros if a later one was, else the file is shorter);
// - directory changes (create, rename, remove) since the directory's last fsync may be lost:
//   any prefix of them, in the order made, reaches the disk (a journaling file system commits
//   them in order);
// - everything synced is kept.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "cqrs/log/file_observer.h"

namespace cqrs::log::testing {

class PowerLossDisk : public FileObserver {
 public:
  static constexpr std::uint64_t kPageBytes = 4096;

  // Records operations on paths under `root` (others are ignored).
  explicit PowerLossDisk(std::filesystem::path root) : root_(std::move(root)) {}

  // Operations recorded so far: a power cut may follow any prefix 0..ops().
  std::size_t ops() const EXCLUDES(mu_);

  // One way the unsynced state may have reached the disk.
  struct Variant {
    std::size_t dir_changes = 0;  // how many of the pending directory changes persisted
    enum class Data { kNone, kAll, kOnlyPage, kAllButPage } data = Data::kNone;
    std::size_t page = 0;  // for kOnlyPage / kAllButPage: index among the pending pages
    std::string Name() const;
  };
  // Every variant for a cut after the first `n` operations.
  std::vector<Variant> VariantsAt(std::size_t n) const;
  // Writes into the empty directory `into` the files as that cut leaves them.
  Status Materialize(std::size_t n, const Variant& v, const std::filesystem::path& into) const;

  void Opened(const std::filesystem::path& path, Open how) override;
  void Wrote(const std::filesystem::path& path, std::uint64_t offset, std::string_view bytes) override;
  void Truncated(const std::filesystem::path& path, std::uint64_t size) override;
  void SyncedData(const std::filesystem::path& path) override;
  void SyncedDir(const std::filesystem::path& dir) override;
  void Renamed(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void Removed(const std::filesystem::path& path) override;

 private:
  enum class Kind { kOpen, kWrite, kTruncate, kSyncData, kSyncDir, kRename, kRemove };
  struct Op {
    Kind kind;
    std::string path, to;  // relative to root_
    Open how = Open::kCreateOrKeep;
    std::uint64_t offset = 0;  // write offset or truncate size
    std::string bytes;
  };
  struct Model;  // the disk after a prefix of ops, with what is still pending
  Model Replay(std::size_t n) const EXCLUDES(mu_);
  bool Relative(const std::filesystem::path& p, std::string& out) const;
  void Record(Op op) EXCLUDES(mu_);

  const std::filesystem::path root_;
  mutable Mutex mu_;
  std::vector<Op> ops_ GUARDED_BY(mu_);
};

}  // namespace cqrs::log::testing
