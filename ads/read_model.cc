#include "ads/read_model.h"

#include <ctime>

#include "ads/ad_row_change.h"

namespace adsd::ads {

using cqrs::Status;

std::string UtcDay(cqrs::TimestampUs us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string Rfc3339(cqrs::TimestampUs us) {
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>((us / 1000) % 1000));
  return out;
}

namespace {
constexpr std::string_view kTable = R"sql(
CREATE TABLE IF NOT EXISTS ads(
  ad_id TEXT PRIMARY KEY,
  retailer TEXT NOT NULL,
  status TEXT NOT NULL,
  ad_json TEXT NOT NULL,
  reasons_json TEXT NOT NULL DEFAULT '[]',
  version INTEGER NOT NULL,
  position INTEGER NOT NULL,
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  decided_us INTEGER,
  decided_day TEXT);
)sql";
constexpr std::string_view kIndexes = R"sql(
CREATE INDEX IF NOT EXISTS ads_by_status ON ads(retailer, status, created_us DESC, ad_id DESC);
CREATE INDEX IF NOT EXISTS ads_by_retailer ON ads(retailer, created_us DESC, ad_id DESC);
CREATE INDEX IF NOT EXISTS ads_by_day ON ads(retailer, decided_day, decided_us);
)sql";
}  // namespace

Status AdsReadModel::MigrateForBulkLoad(cqrs::sql::Database& db) { return db.Exec(kTable); }

Status AdsReadModel::Migrate(cqrs::sql::Database& db) {
  RETURN_IF_ERROR(db.Exec(kTable));
  return db.Exec(kIndexes);
}

cqrs::Result<cqrs::sql::Statement*> AdsReadModel::Statement(cqrs::sql::Database& db, int which,
                                                          std::string_view sql) {
  if (prepared_for_ != &db) {
    statements_.clear();
    prepared_for_ = &db;
  }
  auto it = statements_.find(which);
  if (it == statements_.end()) {
    ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
    it = statements_.emplace(which, std::move(st)).first;
  }
  it->second.Reset();
  return &it->second;
}

Status AdsReadModel::Apply(cqrs::sql::Database& db, const cqrs::RecordedEvent& e) {
  ASSIGN_OR_RETURN(std::optional<AdRowChange> change, AdRowChangeOf(e));
  if (!change) return Status::Ok();
  const AdRowChange& c = *change;
  cqrs::sql::Statement* st = nullptr;
  switch (c.kind) {
    case AdRowChange::Kind::kSubmitted: {
      ASSIGN_OR_RETURN(st, Statement(db, 2,
          "INSERT INTO ads(ad_id, retailer, status, ad_json, version, position, created_us, updated_us) "
          "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT(ad_id) DO NOTHING"));
      st->Bind(1, c.ad_id).Bind(2, c.retailer).Bind(3, c.ad_json).Bind(4, c.version).Bind(5, c.position)
          .Bind(6, c.at_us).Bind(7, c.at_us);
      break;
    }
    case AdRowChange::Kind::kChanged: {
      ASSIGN_OR_RETURN(st, Statement(db, 3,
          "UPDATE ads SET status = 'pending', ad_json = ?, reasons_json = '[]', version = ?, position = ?, "
          "updated_us = ?, decided_us = NULL, decided_day = NULL WHERE ad_id = ? AND version < ?"));
      st->Bind(1, c.ad_json).Bind(2, c.version).Bind(3, c.position).Bind(4, c.at_us).Bind(5, c.ad_id)
          .Bind(6, c.version);
      break;
    }
    case AdRowChange::Kind::kDecided: {
      ASSIGN_OR_RETURN(st, Statement(db, 4,
          "UPDATE ads SET status = ?, reasons_json = ?, version = ?, position = ?, updated_us = ?, "
          "decided_us = ?, decided_day = ? WHERE ad_id = ? AND version < ?"));
      st->Bind(1, c.status).Bind(2, c.reasons_json).Bind(3, c.version).Bind(4, c.position).Bind(5, c.at_us)
          .Bind(6, c.at_us).Bind(7, c.decided_day).Bind(8, c.ad_id).Bind(9, c.version);
      break;
    }
    case AdRowChange::Kind::kWithdrawn: {
      ASSIGN_OR_RETURN(st, Statement(db, 5,
          "UPDATE ads SET status = 'withdrawn', version = ?, position = ?, updated_us = ? "
          "WHERE ad_id = ? AND version < ?"));
      st->Bind(1, c.version).Bind(2, c.position).Bind(3, c.at_us).Bind(4, c.ad_id).Bind(5, c.version);
      break;
    }
  }
  return st->Run();
}

}  // namespace adsd::ads
