#include "cqrs/pg/migrations.h"

namespace cqrs::pg {

namespace {
// Any fixed number: the advisory lock that serializes migrations of one database.
constexpr std::int64_t kMigrationLock = 0x61647364'6d696772;  // "adsdmigr"
}  // namespace

Status Migrate(Connection& conn, std::string_view component, std::span<const Migration> migrations) {
  // Processes starting together take turns: even CREATE TABLE IF NOT EXISTS races otherwise.
  RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_lock($1)", {Param::Int(kMigrationLock)}).status());
  struct Unlock {
    Connection& c;
    ~Unlock() { (void)c.Query("SELECT pg_advisory_unlock($1)", {Param::Int(kMigrationLock)}); }
  } unlock{conn};
  RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component text NOT NULL, version int NOT NULL, description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"));
  for (const Migration& m : migrations) {
    RETURN_IF_ERROR(conn.Exec("BEGIN"));
    auto applied = [&]() -> Result<bool> {
      ASSIGN_OR_RETURN(Rows newest, conn.Query("SELECT coalesce(max(version), 0) FROM schema_migrations "
                                               "WHERE component = $1",
                                               {Param::Text(std::string(component))}));
      const std::int64_t at = newest.Int(0, 0);
      if (at > static_cast<std::int64_t>(migrations.size())) {
        return Internal("postgres: the " + std::string(component) + " schema is at version " + std::to_string(at) +
                        ", newer than this program knows (" + std::to_string(migrations.size()) +
                        "); upgrade the program");
      }
      if (at >= m.version) return false;
      RETURN_IF_ERROR(conn.Exec(m.sql));
      RETURN_IF_ERROR(
          conn.Query("INSERT INTO schema_migrations (component, version, description) VALUES ($1, $2, $3)",
                     {Param::Text(std::string(component)), Param::Int(m.version), Param::Text(m.description)})
              .status());
      return true;
    }();
    if (!applied.ok()) {
      (void)conn.Exec("ROLLBACK");
      return applied.status();
    }
    RETURN_IF_ERROR(conn.Exec("COMMIT"));
  }
  return Status::Ok();
}

Status CheckSchema(Connection& conn, std::string_view component, std::span<const Migration> migrations) {
  ASSIGN_OR_RETURN(Rows exists, conn.Query("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  const std::int64_t known = static_cast<std::int64_t>(migrations.size());
  std::int64_t at = 0;
  if (exists.Text(0, 0) == "t") {
    ASSIGN_OR_RETURN(Rows newest, conn.Query("SELECT coalesce(max(version), 0) FROM schema_migrations "
                                             "WHERE component = $1",
                                             {Param::Text(std::string(component))}));
    at = newest.Int(0, 0);
  }
  if (at == known) return Status::Ok();
  if (at > known) {
    return Internal("postgres: the " + std::string(component) + " schema is at version " + std::to_string(at) +
                    ", newer than this program knows (" + std::to_string(known) + "); upgrade the program");
  }
  return Unavailable("postgres: the " + std::string(component) + " schema is at version " + std::to_string(at) +
                     " here, this program needs " + std::to_string(known) +
                     ": start a process that writes against the primary first (it migrates), then this one");
}

}  // namespace cqrs::pg
