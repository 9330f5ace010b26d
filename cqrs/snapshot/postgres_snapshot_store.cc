#include "cqrs/snapshot/postgres_snapshot_store.h"

#include "cqrs/core/mutex.h"
#include "cqrs/pg/connection.h"
#include "cqrs/pg/migrations.h"

namespace cqrs {
namespace {

class PostgresSnapshotStore final : public SnapshotStore {
 public:
  explicit PostgresSnapshotStore(std::unique_ptr<pg::Connection> conn) : conn_(std::move(conn)) {}

  Status Save(const Snapshot& s) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    RETURN_IF_ERROR(Reconnected());
    return conn_
        ->Query(
            "INSERT INTO cqrs_snapshots (stream, version, schema_version, state) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, "
            "schema_version = EXCLUDED.schema_version, state = EXCLUDED.state "
            "WHERE cqrs_snapshots.version <= EXCLUDED.version",
            {pg::Param::Text(s.stream), pg::Param::Int(static_cast<std::int64_t>(s.version.value())),
             pg::Param::Int(s.schema_version), pg::Param::Bytes(s.state)})
        .status();
  }

  Result<std::optional<Snapshot>> Load(std::string_view stream) const override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    RETURN_IF_ERROR(Reconnected());
    ASSIGN_OR_RETURN(pg::Rows rows, conn_->Query("SELECT version, schema_version, state FROM cqrs_snapshots "
                                                 "WHERE stream = $1",
                                                 {pg::Param::Text(std::string(stream))}));
    if (rows.empty()) return std::optional<Snapshot>();
    return std::optional<Snapshot>(Snapshot{.stream = std::string(stream),
                                            .version = StreamVersion(static_cast<std::uint64_t>(rows.Int(0, 0))),
                                            .schema_version = static_cast<std::uint32_t>(rows.Int(0, 1)),
                                            .state = rows.Bytes(0, 2)});
  }

 private:
  // A connection that dropped (the server restarted) is opened again before the next use.
  Status Reconnected() const REQUIRES(mu_) { return conn_->healthy() ? Status::Ok() : conn_->Reconnect(); }

  mutable Mutex mu_;  // one connection: one user at a time
  const std::unique_ptr<pg::Connection> conn_ PT_GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<SnapshotStore>> OpenPostgresSnapshotStore(const std::string& url) {
  // A versioned migration (schema_migrations, component "snapshots"): processes that start at
  // once create the table once, and a later format change is a migration 2.
  static const pg::Migration kMigrations[] = {
      {1, "snapshots: the latest state per stream",
       "CREATE TABLE cqrs_snapshots (stream text PRIMARY KEY, version bigint NOT NULL, "
       "schema_version integer NOT NULL, state bytea NOT NULL)"},
  };
  ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(url));
  RETURN_IF_ERROR(pg::Migrate(*conn, "snapshots", kMigrations));
  return std::unique_ptr<SnapshotStore>(std::make_unique<PostgresSnapshotStore>(std::move(conn)));
}

}  // namespace cqrs
