// Named checkpoints in the PostgreSQL event store's database (table `checkpoints`): consumers
// that keep their position beside the events, such as the bus relay and adsd's webhook fan-out.
//
// Each row holds a position and the hash-chain link of the event at that position, taken from
// `events` by the statement that saves it (SaveNamedCheckpointSql), so the two never disagree.
// Rows are restored with the events (the same database), so a point-in-time restore leaves them
// consistent; FindNamedCheckpointsAhead is there for every other way a database can go back (a
// restore of the events alone, a logical copy) and costs one query.
#pragma once

#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/checkpoint_check.h"

namespace cqrs {

// Saves checkpoint $1 at position $2 with the hash of the event there (NULL at position 0).
inline constexpr const char* kSaveNamedCheckpointSql =
    "INSERT INTO checkpoints (name, position, hash) VALUES ($1, $2, (SELECT e.hash FROM events e WHERE e.position = "
    "$2)) ON CONFLICT (name) DO UPDATE SET position = excluded.position, hash = excluded.hash, updated_at = now()";

struct NamedCheckpoint {
  std::string name;
  CheckpointCheck check;
};

// The named checkpoints past the store's head, or at a position where the store now holds
// another event than the one whose hash they recorded.
Result<std::vector<NamedCheckpoint>> FindNamedCheckpointsAhead(pg::Connection& conn);

}  // namespace cqrs
