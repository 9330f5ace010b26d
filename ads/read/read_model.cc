#include "ads/read/read_model.h"

#include "ads/read/ad_row_change.h"

namespace adsd::ads {

using cqrs::Status;

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

cqrs::Result<cqrs::sql::Statement*> AdsReadModel::Statement(cqrs::sql::Database& db, int which, std::string_view sql) {
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
  // One statement a kind of change, in the order of AdRowChange::Kind, prepared once (ids 2 to 5).
  static constexpr std::string_view kSql[] = {
      "INSERT INTO ads(ad_id, retailer, status, ad_json, version, position, created_us, updated_us) "
      "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT(ad_id) DO NOTHING",
      "UPDATE ads SET status = 'pending', ad_json = ?, reasons_json = '[]', version = ?, position = ?, "
      "updated_us = ?, decided_us = NULL, decided_day = NULL WHERE ad_id = ? AND version < ?",
      "UPDATE ads SET status = ?, reasons_json = ?, version = ?, position = ?, updated_us = ?, "
      "decided_us = ?, decided_day = ? WHERE ad_id = ? AND version < ?",
      "UPDATE ads SET status = 'withdrawn', version = ?, position = ?, updated_us = ? "
      "WHERE ad_id = ? AND version < ?",
  };
  const auto kind = static_cast<std::size_t>(c.kind);
  ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Statement(db, 2 + static_cast<int>(kind), kSql[kind]));
  switch (c.kind) {
    case AdRowChange::Kind::kSubmitted:
      st->BindAll(c.ad_id, c.retailer, c.ad_json, c.version, c.position, c.at_us, c.at_us);
      break;
    case AdRowChange::Kind::kChanged:
      st->BindAll(c.ad_json, c.version, c.position, c.at_us, c.ad_id, c.version);
      break;
    case AdRowChange::Kind::kDecided:
      st->BindAll(c.status, c.reasons_json, c.version, c.position, c.at_us, c.at_us, c.decided_day, c.ad_id, c.version);
      break;
    case AdRowChange::Kind::kWithdrawn:
      st->BindAll(c.version, c.position, c.at_us, c.ad_id, c.version);
      break;
  }
  return st->Run();
}

}  // namespace adsd::ads
