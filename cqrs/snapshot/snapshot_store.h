// Snapshots: an aggregate's state at a stream version, saved so that loading it reads only the
// events after that version instead of the whole stream (aggregate.h does the loading).
//
// A snapshot is a cache: the stream stays the truth, and losing every snapshot costs only time.
// The store keeps the latest snapshot per stream; saving one older than the stored one is a no-op,
// so concurrent savers never move a snapshot back. The state is opaque bytes, serialized by the
// user; `schema_version` names its format, and a loader skips a snapshot of another format (and
// replays the stream) instead of misreading it.
//
// Backends: SQLite beside the embedded log (OpenSqliteSnapshotStore) and PostgreSQL
// (postgres_snapshot_store.h). Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs {

struct Snapshot {
  std::string stream;
  StreamVersion version;             // the state after the stream's event at this version
  std::uint32_t schema_version = 1;  // the format of `state`
  std::string state;                 // serialized by the user
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // Keeps `snapshot` unless the stream's stored snapshot is at a later version.
  virtual Status Save(const Snapshot& snapshot) = 0;
  // The stream's latest snapshot; nullopt when it has none.
  virtual Result<std::optional<Snapshot>> Load(std::string_view stream) const = 0;
};

// Snapshots in a SQLite database at `path` (created if missing), e.g. beside the embedded log.
Result<std::unique_ptr<SnapshotStore>> OpenSqliteSnapshotStore(const std::filesystem::path& path);

}  // namespace cqrs
