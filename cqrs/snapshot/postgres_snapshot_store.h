// Snapshots in PostgreSQL (snapshot_store.h): table `cqrs_snapshots`, one row per stream, in the
// database of the event store or any other.
#pragma once

#include <memory>
#include <string>

#include "cqrs/snapshot/snapshot_store.h"

namespace cqrs {

// Connects to `url` and creates the table if missing (migration "snapshots" 1).
Result<std::unique_ptr<SnapshotStore>> OpenPostgresSnapshotStore(const std::string& url);

}  // namespace cqrs
