// Versioned schema migrations, applied on start.
//
// A component owns a list of migrations numbered 1, 2, 3 ... under a name ("event_store",
// "read_model"). Migrate() applies, in order and each in its own transaction, those not yet
// recorded in `schema_migrations` (component, version, description, applied_at). Concurrent
// starters (several processes starting at once) serialize on a session advisory lock,
// so each migration runs exactly once. A database that is ahead of this binary (a version it does
// not know) is refused: an old binary must not write into a schema it does not understand.
#pragma once

#include <span>
#include <string>

#include "cqrs/core/status.h"
#include "cqrs/pg/connection.h"

namespace cqrs::pg {

struct Migration {
  int version;
  std::string description;
  std::string sql;
};

Status Migrate(Connection& conn, std::string_view component, std::span<const Migration> migrations);

// For a server that cannot be written (a read replica): Ok if `component`'s schema is exactly at
// the newest of `migrations`; an error that says what to do otherwise.
Status CheckSchema(Connection& conn, std::string_view component, std::span<const Migration> migrations);

}  // namespace cqrs::pg
