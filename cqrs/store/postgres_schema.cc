#include "cqrs/store/postgres_schema.h"

#include <array>

namespace cqrs {

std::span<const pg::Migration> EventStoreMigrations() {
  static const std::array<pg::Migration, 2> kMigrations = {{
      {1, "events and the log head",
       R"sql(
CREATE TABLE events (
  position       bigint PRIMARY KEY,
  stream         text   NOT NULL,
  version        bigint NOT NULL,
  event_id       uuid   NOT NULL UNIQUE,
  type           text   NOT NULL,
  schema_version int    NOT NULL,
  timestamp_us   bigint NOT NULL,
  correlation_id uuid   NOT NULL,
  causation_id   uuid   NOT NULL,
  metadata       bytea  NOT NULL,
  payload        bytea  NOT NULL,
  hash           bytea  NOT NULL,
  UNIQUE (stream, version)
);
-- One row: the last position and the hash-chain head. Appends lock it (see postgres_store.h).
CREATE TABLE log_head (
  id       int    PRIMARY KEY CHECK (id = 1),
  position bigint NOT NULL,
  hash     bytea  NOT NULL
);
INSERT INTO log_head VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');
)sql"},
      {2, "named checkpoints (consumers, the bus relay)",
       R"sql(
CREATE TABLE checkpoints (
  name       text PRIMARY KEY,
  position   bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
)sql"},
  }};
  return kMigrations;
}

}  // namespace cqrs
