#include "ads/read/read_side.h"

#include <algorithm>

#include "ads/read/pg_ad_queries.h"
#include "cqrs/projection/projection_runner.h"

namespace adsd::ads {

namespace fs = std::filesystem;

namespace {

// How often the read model's WAL is folded back into its file, off the projection's thread.
constexpr std::chrono::milliseconds kWalFoldEvery{250};

}  // namespace

cqrs::Result<std::unique_ptr<ReadSide>> ReadSide::Open(cqrs::EventStore& store, ReadSideOptions options) {
  std::unique_ptr<ReadSide> r(new ReadSide(store, std::move(options)));
  RETURN_IF_ERROR(r->options_.postgres_url.empty() ? r->OpenSqlite() : r->OpenPostgres());
  return r;
}

ReadSide::~ReadSide() { Stop(); }

void ReadSide::Stop() {
  wal_folder_.reset();
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>());
  pg_runner_ = nullptr;
}

cqrs::Status ReadSide::StartSqliteRunner(ads::AdsReadModel& model) {
  const fs::path& path = options_.sqlite_path;
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(path));
  RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=0"));  // see cqrs/sql/wal_folder.h
  wal_folder_ = std::make_unique<cqrs::sql::WalFolder>(path, kWalFoldEvery);
  cqrs::projection::RunnerOptions o;
  // Commits at most every 2 ms while it keeps up: a commit's fixed cost is most of a small batch's.
  o.min_commit_interval = std::chrono::milliseconds(2);
  o.on_committed = options_.on_committed;
  auto runner = std::make_shared<cqrs::projection::ProjectionRunner>(store_, std::move(db), model, o);
  RETURN_IF_ERROR(runner->Start());
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>(std::move(runner)));
  return cqrs::Status::Ok();
}

cqrs::Status ReadSide::OpenSqlite() {
  const fs::path& path = options_.sqlite_path;
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return cqrs::ErrnoError("create " + path.parent_path().string(), ec.value());
  sqlite_models_.push_back(std::make_unique<ads::AdsReadModel>());
  RETURN_IF_ERROR(StartSqliteRunner(*sqlite_models_.back()));
  auto queries = std::make_unique<ads::SqliteAdQueries>(path);
  sqlite_queries_ = queries.get();
  queries_ = std::move(queries);
  return cqrs::Status::Ok();
}

cqrs::Status ReadSide::OpenPostgres() {
  pg_model_ = std::make_unique<ads::AdsPgReadModel>();
  cqrs::projection::PgRunnerOptions o;
  o.url = options_.postgres_url;
  o.on_committed = options_.on_committed;
  o.on_ahead = options_.on_ahead;
  o.on_repaired = options_.on_repaired;
  ASSIGN_OR_RETURN(auto runner, cqrs::projection::PgProjectionRunner::Start(store_, *pg_model_, std::move(o)));
  pg_runner_ = runner.get();
  std::atomic_store(&runner_, std::shared_ptr<cqrs::projection::Runner>(std::move(runner)));
  queries_ = std::make_unique<ads::PgAdQueries>(options_.postgres_url, std::max(4, options_.query_connections));
  return cqrs::Status::Ok();
}

std::optional<cqrs::Status> ReadSide::ProbeDatabase() const {
  if (sqlite_queries_ == nullptr) return std::nullopt;
  return sqlite_queries_->Probe();
}

cqrs::Result<cqrs::projection::RebuildStats> ReadSide::Rebuild() {
  cqrs::MutexLock lock(rebuild_mu_);
  if (pg_runner_ == nullptr) return RebuildSqlite();
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::uint64_t events, pg_runner_->Rebuild());
  return cqrs::projection::RebuildStats{
      events, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
}

cqrs::Result<cqrs::projection::RebuildStats> ReadSide::RebuildSqlite() {
  sqlite_models_.push_back(std::make_unique<ads::AdsReadModel>());
  ads::AdsReadModel& model = *sqlite_models_.back();
  cqrs::projection::FreshFileRebuildOptions o;
  // The live runner stops for the last few events only; the read model serves until then.
  o.quiesce = [this] { runner()->Stop(); };
  o.before_swap = [this] { wal_folder_.reset(); };  // its connection belongs to the old file
  ASSIGN_OR_RETURN(auto stats, cqrs::projection::RebuildIntoFreshFile(store_, model, options_.sqlite_path, o));
  sqlite_queries_->Reopen();
  RETURN_IF_ERROR(StartSqliteRunner(model));  // its statements went with the rebuild's connection
  return stats;
}

}  // namespace adsd::ads
