#include "ads/read/pg_read_model.h"

#include "ads/read/ad_row_change.h"

namespace adsd::ads {

namespace {

using cqrs::pg::Param;

const cqrs::pg::Migration kMigrations[] = {
    {1, "ads: one row per ad, indexed for listings and the daily report", R"sql(
CREATE TABLE ads(
  ad_id TEXT COLLATE "C" PRIMARY KEY,
  retailer TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL,
  ad_json TEXT NOT NULL,
  reasons_json TEXT NOT NULL DEFAULT '[]',
  version BIGINT NOT NULL,
  position BIGINT NOT NULL,
  created_us BIGINT NOT NULL,
  updated_us BIGINT NOT NULL,
  decided_us BIGINT,
  decided_day TEXT COLLATE "C");
CREATE INDEX ads_by_status ON ads(retailer, status, created_us DESC, ad_id DESC);
CREATE INDEX ads_by_retailer ON ads(retailer, created_us DESC, ad_id DESC);
CREATE INDEX ads_by_day ON ads(retailer, decided_day, decided_us);
)sql"},
};

Param Int(std::int64_t v) { return Param::Int(v); }

}  // namespace

std::span<const cqrs::pg::Migration> AdsPgReadModel::Migrations() const { return kMigrations; }

std::vector<std::pair<std::string, std::string>> AdsPgReadModel::PreparedStatements() const {
  return {
      {"ads_submitted",
       "INSERT INTO ads(ad_id, retailer, status, ad_json, version, position, created_us, updated_us) "
       "VALUES ($1, $2, 'pending', $3, $4, $5, $6, $6) ON CONFLICT (ad_id) DO NOTHING"},
      {"ads_changed",
       "UPDATE ads SET status = 'pending', ad_json = $1, reasons_json = '[]', version = $2, position = $3, "
       "updated_us = $4, decided_us = NULL, decided_day = NULL WHERE ad_id = $5 AND version < $2"},
      {"ads_decided",
       "UPDATE ads SET status = $1, reasons_json = $2, version = $3, position = $4, updated_us = $5, "
       "decided_us = $5, decided_day = $6 WHERE ad_id = $7 AND version < $3"},
      {"ads_withdrawn",
       "UPDATE ads SET status = 'withdrawn', version = $1, position = $2, updated_us = $3 "
       "WHERE ad_id = $4 AND version < $1"},
  };
}

cqrs::Status AdsPgReadModel::Apply(const cqrs::RecordedEvent& e, std::vector<cqrs::pg::Statement>& out) const {
  ASSIGN_OR_RETURN(std::optional<AdRowChange> change, AdRowChangeOf(e));
  if (!change) return cqrs::Status::Ok();
  AdRowChange& c = *change;
  using cqrs::pg::Statement;
  switch (c.kind) {
    case AdRowChange::Kind::kSubmitted:
      out.push_back(Statement::Prepared(
          "ads_submitted", {Param::Text(c.ad_id), Param::Text(std::move(c.retailer)), Param::Text(std::move(c.ad_json)),
                            Int(c.version), Int(c.position), Int(c.at_us)}));
      break;
    case AdRowChange::Kind::kChanged:
      out.push_back(Statement::Prepared("ads_changed", {Param::Text(std::move(c.ad_json)), Int(c.version),
                                                        Int(c.position), Int(c.at_us), Param::Text(c.ad_id)}));
      break;
    case AdRowChange::Kind::kDecided:
      out.push_back(Statement::Prepared(
          "ads_decided", {Param::Text(c.status), Param::Text(std::move(c.reasons_json)), Int(c.version),
                          Int(c.position), Int(c.at_us), Param::Text(c.decided_day), Param::Text(c.ad_id)}));
      break;
    case AdRowChange::Kind::kWithdrawn:
      out.push_back(
          Statement::Prepared("ads_withdrawn", {Int(c.version), Int(c.position), Int(c.at_us), Param::Text(c.ad_id)}));
      break;
  }
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads
