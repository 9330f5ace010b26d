// ReadSide: the Read API's model and the runner that keeps it current, in SQLite (this process's
// own file) or in PostgreSQL (shared by the read processes: one applies, the others follow).
//
// Lifecycle: Open() migrates and starts the runner; Stop() stops it. Rebuild() replaces the
// model while the old one keeps serving (SQLite: a fresh file swapped in, with a moment of
// pause; PostgreSQL: one transaction on the process that applies it). One rebuild at a time.
// Thread-safety: all methods may be called concurrently; runner() returns a copy because a
// rebuild may replace the runner while a caller uses it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ads/read/ad_queries.h"
#include "ads/read/pg_read_model.h"
#include "ads/read/read_model.h"
#include "ads/read/sqlite_ad_queries.h"
#include "cqrs/core/mutex.h"
#include "cqrs/projection/fresh_file_rebuild.h"
#include "cqrs/projection/pg_projection.h"
#include "cqrs/projection/runner.h"
#include "cqrs/sql/wal_folder.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

struct ReadSideOptions {
  std::filesystem::path sqlite_path;  // the SQLite model's file, when `postgres_url` is empty
  std::string postgres_url;           // a read model shared in PostgreSQL
  int query_connections = 4;          // PostgreSQL: connections kept for queries
  // After each batch is committed to the model (its write-to-read lag).
  std::function<void(std::span<const cqrs::RecordedEvent>)> on_committed;
  // PostgreSQL: a model found ahead of the store at start (cqrs::projection::PgRunnerOptions).
  cqrs::AheadPolicy on_ahead = cqrs::AheadPolicy::kRefuse;
  std::function<void(const std::string&)> on_repaired;
};

class ReadSide {
 public:
  static cqrs::Result<std::unique_ptr<ReadSide>> Open(cqrs::EventStore& store, ReadSideOptions options);
  ~ReadSide();

  std::shared_ptr<cqrs::projection::Runner> runner() const { return std::atomic_load(&runner_); }
  const ads::AdQueries& queries() const { return *queries_; }
  // The PostgreSQL runner, or null for SQLite (`leader()` says whether this process applies).
  const cqrs::projection::PgProjectionRunner* shared_runner() const { return pg_runner_; }
  cqrs::Result<cqrs::projection::RebuildStats> Rebuild();
  // Whether the SQLite model's file can be read now (a damaged or missing file says why); none
  // for a model in PostgreSQL, whose server's health the runner's status carries.
  std::optional<cqrs::Status> ProbeDatabase() const;
  void Stop();

 private:
  ReadSide(cqrs::EventStore& store, ReadSideOptions options) : store_(store), options_(std::move(options)) {}
  cqrs::Status OpenSqlite();
  cqrs::Status OpenPostgres();
  // Opens the live SQLite file and starts its runner and WAL folder.
  cqrs::Status StartSqliteRunner(ads::AdsReadModel& model);
  cqrs::Result<cqrs::projection::RebuildStats> RebuildSqlite();

  cqrs::EventStore& store_;
  const ReadSideOptions options_;
  cqrs::Mutex rebuild_mu_;  // one rebuild at a time
  // Read models live as long as the read side: a replaced runner may still be held by a request.
  std::vector<std::unique_ptr<ads::AdsReadModel>> sqlite_models_;
  std::unique_ptr<ads::AdsPgReadModel> pg_model_;
  std::shared_ptr<cqrs::projection::Runner> runner_;           // atomic_load / atomic_store
  cqrs::projection::PgProjectionRunner* pg_runner_ = nullptr;  // runner_, for PostgreSQL
  std::unique_ptr<cqrs::sql::WalFolder> wal_folder_;           // the live SQLite file's
  std::unique_ptr<ads::AdQueries> queries_;
  ads::SqliteAdQueries* sqlite_queries_ = nullptr;  // queries_, for SQLite
};

}  // namespace adsd::ads
