// RebuildIntoFreshFile: rebuilds a SQLite read model from the whole log into a new file beside
// the live one, then renames it over the live one. Used online by the service (the live read
// model keeps serving until the swap) and offline by `adsctl rebuild`.
//
// The fresh file is a bulk load: no journal, no fsync, secondary indexes built once at the end
// (Projection::MigrateForBulkLoad). It is made durable (WAL folded in, fdatasync, directory
// synced) before it replaces the live one, so a crash at any point leaves either the old read
// model or the new one, never a mix; a partial fresh file is deleted by the next rebuild.
#pragma once

#include <filesystem>
#include <functional>

#include "cqrs/projection/projection.h"
#include "cqrs/store/event_store.h"

namespace cqrs::projection {

struct FreshFileRebuildOptions {
  // After each step of the load: events applied so far and the head being loaded towards.
  std::function<void(Position done, Position head)> progress;
  // Once the bulk of the log is loaded and indexed: stop whatever writes the live file (the
  // service's live runner). The last events are then loaded with nothing writing the old file.
  std::function<void()> quiesce;
  // Just before the rename: release every connection to the live file.
  std::function<void()> before_swap;
};

struct RebuildStats {
  std::uint64_t events = 0;  // the position the new read model is at
  double seconds = 0;
};

// `projection` must be a fresh instance (no prepared statements on another database); it is
// left tied to the new live file's closed connection.
Result<RebuildStats> RebuildIntoFreshFile(EventStore& store, Projection& projection, const std::filesystem::path& live,
                                          const FreshFileRebuildOptions& options);

// Builds the read model of everything `store` holds into a new file at `path` (kAlreadyExists if
// there is one: it is never replaced), e.g. from a snapshot of the log up to a past point for an
// audit. Built as `path`.partial and renamed when complete and durable.
Result<RebuildStats> RebuildIntoNewFile(EventStore& store, Projection& projection, const std::filesystem::path& path,
                                        const FreshFileRebuildOptions& options);

}  // namespace cqrs::projection
