#include "cqrs/projection/fresh_file_rebuild.h"

#include <fcntl.h>
#include <unistd.h>

#include "cqrs/log/segment_file.h"
#include "cqrs/projection/projection_runner.h"

namespace cqrs::projection {

namespace fs = std::filesystem;

namespace {

// Loads this many events between progress reports.
constexpr std::uint64_t kStep = 100'000;
// The live read model is stopped once the fresh one is this close to the head.
constexpr std::uint64_t kCloseEnough = 1000;

void RemoveWithSidecars(const fs::path& db, std::initializer_list<const char*> suffixes) {
  std::error_code ignored;
  for (const char* suffix : suffixes) fs::remove(db.string() + suffix, ignored);
}

Status SyncFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path.string(), errno);
  Status synced = log::SyncData(fd, path);
  ::close(fd);
  return synced;
}

// Loads the whole of `store` into the SQLite file `path` (created) and leaves it durable, in WAL
// mode with the WAL folded in.
Result<std::uint64_t> LoadIntoFile(EventStore& store, Projection& projection, const fs::path& path,
                                   const FreshFileRebuildOptions& options) {
  std::uint64_t events = 0;
  {
    ASSIGN_OR_RETURN(auto db, sql::Database::Open(path));
    // A bulk load into a file nobody reads yet: no journal, no fsync.
    RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"));
    ProjectionRunner runner(store, std::move(db), projection, RunnerOptions{.max_batch = 16384, .bulk_load = true});
    // Load while the live read model keeps serving, in steps, until close to the head ...
    while (true) {
      const Position head = store.Head();
      if (head.value() - std::min(head.value(), runner.position().value()) <= kCloseEnough) break;
      RETURN_IF_ERROR(runner.CatchUp(Position(std::min(head.value(), runner.position().value() + kStep))));
      if (options.progress) options.progress(runner.position(), head);
    }
    // ... index what was loaded, then take the last events with nothing writing the old file.
    RETURN_IF_ERROR(runner.FinishBulkLoad());
    if (options.quiesce) options.quiesce();
    RETURN_IF_ERROR(runner.CatchUp(store.Head()));
    if (options.progress) options.progress(runner.position(), runner.position());
    events = runner.position().value();
  }
  {
    // Back to WAL, as a live file, with the WAL folded in: a rename moves one whole file.
    ASSIGN_OR_RETURN(auto db, sql::Database::Open(path));
    RETURN_IF_ERROR(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  RETURN_IF_ERROR(SyncFile(path));
  return events;
}

}  // namespace

Result<RebuildStats> RebuildIntoFreshFile(EventStore& store, Projection& projection, const fs::path& live,
                                          const FreshFileRebuildOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const fs::path fresh = live.string() + ".rebuild";
  RemoveWithSidecars(fresh, {"", "-wal", "-shm"});
  RebuildStats stats;
  ASSIGN_OR_RETURN(stats.events, LoadIntoFile(store, projection, fresh, options));
  if (options.before_swap) options.before_swap();
  // The old WAL belongs to the old file: it must go before the new file takes the name.
  RemoveWithSidecars(live, {"-wal", "-shm"});
  std::error_code ec;
  fs::rename(fresh, live, ec);
  if (ec) return ErrnoError("rename " + fresh.string() + " to " + live.string(), ec.value());
  RemoveWithSidecars(fresh, {"-wal", "-shm"});
  RETURN_IF_ERROR(log::SyncDir(live.has_parent_path() ? live.parent_path() : fs::path(".")));
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

Result<RebuildStats> RebuildIntoNewFile(EventStore& store, Projection& projection, const fs::path& path,
                                        const FreshFileRebuildOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  std::error_code ec;
  if (fs::exists(path, ec) || fs::exists(path.string() + "-wal", ec)) {
    return AlreadyExists(path.string() + " exists: a past read model goes into a new file");
  }
  // Built under a temporary name and renamed at the end: an interrupted build leaves no file
  // that looks finished.
  const fs::path partial = path.string() + ".partial";
  RemoveWithSidecars(partial, {"", "-wal", "-shm"});
  RebuildStats stats;
  ASSIGN_OR_RETURN(stats.events, LoadIntoFile(store, projection, partial, options));
  fs::rename(partial, path, ec);
  if (ec) return ErrnoError("rename " + partial.string() + " to " + path.string(), ec.value());
  RemoveWithSidecars(partial, {"-wal", "-shm"});
  RETURN_IF_ERROR(log::SyncDir(path.has_parent_path() ? path.parent_path() : fs::path(".")));
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

}  // namespace cqrs::projection
