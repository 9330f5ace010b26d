#include "cqrs/core/mutex.h"
#include "cqrs/snapshot/snapshot_store.h"
#include "cqrs/sql/sqlite.h"

namespace cqrs {
namespace {

class SqliteSnapshotStore final : public SnapshotStore {
 public:
  explicit SqliteSnapshotStore(std::unique_ptr<sql::Database> db) : db_(std::move(db)) {}

  Status Save(const Snapshot& s) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(sql::Statement st,
                     db_->Prepare("INSERT INTO snapshots (stream, version, schema_version, state) "
                                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (stream) DO UPDATE SET "
                                  "version = excluded.version, schema_version = excluded.schema_version, "
                                  "state = excluded.state WHERE excluded.version >= snapshots.version"));
    return st.Bind(1, s.stream)
        .Bind(2, static_cast<std::int64_t>(s.version.value()))
        .Bind(3, static_cast<std::int64_t>(s.schema_version))
        .BindBlob(4, s.state)
        .Run();
  }

  Result<std::optional<Snapshot>> Load(std::string_view stream) const override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    ASSIGN_OR_RETURN(sql::Statement st,
                     db_->Prepare("SELECT version, schema_version, state FROM snapshots WHERE stream = ?1"));
    st.Bind(1, stream);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<Snapshot>();
    return std::optional<Snapshot>(Snapshot{.stream = std::string(stream),
                                            .version = StreamVersion(static_cast<std::uint64_t>(st.Int(0))),
                                            .schema_version = static_cast<std::uint32_t>(st.Int(1)),
                                            .state = std::string(st.Text(2))});
  }

 private:
  mutable Mutex mu_;  // one connection: one user at a time
  const std::unique_ptr<sql::Database> db_ PT_GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<SnapshotStore>> OpenSqliteSnapshotStore(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(auto db, sql::Database::Open(path));
  RETURN_IF_ERROR(
      db->Exec("CREATE TABLE IF NOT EXISTS snapshots (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, "
               "schema_version INTEGER NOT NULL, state BLOB NOT NULL)"));
  return std::unique_ptr<SnapshotStore>(std::make_unique<SqliteSnapshotStore>(std::move(db)));
}

}  // namespace cqrs
