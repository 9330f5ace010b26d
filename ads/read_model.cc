#include "ads/read_model.h"

#include <ctime>

#include "ads/ad_json.h"
#include "ads/events.h"

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
  auto id = events::AdIdOf(e.stream);
  if (!id) return Status::Ok();  // not an ad stream
  const std::string ad_id = id->ToString();
  const auto version = static_cast<std::int64_t>(e.version.value());
  const auto position = static_cast<std::int64_t>(e.position.value());
  if (e.type == events::kSubmitted) {
    ASSIGN_OR_RETURN(events::RawContent c, events::ParseRawContent(e.payload));
    ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Statement(db, 2, 
        "INSERT INTO ads(ad_id, retailer, status, ad_json, version, position, created_us, updated_us) "
        "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT(ad_id) DO NOTHING"));
    st->Bind(1, ad_id).Bind(2, c.retailer).Bind(3, c.ad_json).Bind(4, version).Bind(5, position)
        .Bind(6, e.timestamp_us).Bind(7, e.timestamp_us);
    return st->Run();
  }
  if (e.type == events::kChanged) {
    ASSIGN_OR_RETURN(events::RawContent c, events::ParseRawContent(e.payload));
    ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Statement(db, 3, 
        "UPDATE ads SET status = 'pending', ad_json = ?, reasons_json = '[]', version = ?, position = ?, "
        "updated_us = ?, decided_us = NULL, decided_day = NULL WHERE ad_id = ? AND version < ?"));
    st->Bind(1, c.ad_json).Bind(2, version).Bind(3, position).Bind(4, e.timestamp_us).Bind(5, ad_id)
        .Bind(6, version);
    return st->Run();
  }
  if (e.type == events::kApproved || e.type == events::kRejected) {
    ASSIGN_OR_RETURN(std::string reasons, events::ReasonsJson(e.payload));
    ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Statement(db, 4, 
        "UPDATE ads SET status = ?, reasons_json = ?, version = ?, position = ?, updated_us = ?, "
        "decided_us = ?, decided_day = ? WHERE ad_id = ? AND version < ?"));
    st->Bind(1, e.type == events::kApproved ? "approved" : "rejected").Bind(2, reasons).Bind(3, version)
        .Bind(4, position).Bind(5, e.timestamp_us).Bind(6, e.timestamp_us).Bind(7, UtcDay(e.timestamp_us))
        .Bind(8, ad_id).Bind(9, version);
    return st->Run();
  }
  if (e.type == events::kWithdrawn) {
    ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Statement(db, 5, 
        "UPDATE ads SET status = 'withdrawn', version = ?, position = ?, updated_us = ? "
        "WHERE ad_id = ? AND version < ?"));
    st->Bind(1, version).Bind(2, position).Bind(3, e.timestamp_us).Bind(4, ad_id).Bind(5, version);
    return st->Run();
  }
  return Status::Ok();
}

}  // namespace adsd::ads
