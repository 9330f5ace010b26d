#include "ads/read/pg_ad_queries.h"

namespace adsd::ads {

using cqrs::pg::Param;

cqrs::Result<std::vector<AdRow>> PgAdQueries::Rows(const std::string& sql, const std::vector<Param>& params) const {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<std::vector<AdRow>> {
    ASSIGN_OR_RETURN(cqrs::pg::Rows rows, c.QueryPrepared(sql, params));
    std::vector<AdRow> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) {
      AdRow r;
      r.ad_id = rows.Text(i, 0);
      r.retailer = rows.Text(i, 1);
      r.status = rows.Text(i, 2);
      r.ad_json = rows.Text(i, 3);
      r.reasons_json = rows.Text(i, 4);
      r.version = rows.Int(i, 5);
      r.position = rows.Int(i, 6);
      r.created_us = rows.Int(i, 7);
      r.updated_us = rows.Int(i, 8);
      if (!rows.IsNull(i, 9)) r.decided_us = rows.Int(i, 9);
      out.push_back(std::move(r));
    }
    return out;
  });
}

cqrs::Result<std::optional<AdRow>> PgAdQueries::Get(const std::string& ad_id) const {
  ASSIGN_OR_RETURN(auto rows,
                   Rows("SELECT " + std::string(kAdRowColumns) + " FROM ads WHERE ad_id = $1", {Param::Text(ad_id)}));
  if (rows.empty()) return std::optional<AdRow>();
  return std::optional<AdRow>(std::move(rows.front()));
}

cqrs::Result<std::vector<AdRow>> PgAdQueries::List(const std::string& retailer,
                                                   const std::optional<std::string>& status, int limit,
                                                   const std::optional<Cursor>& after) const {
  // Conditions only for what is given: "$2 IS NULL OR ..." would hide the index from a plan.
  std::string sql = "SELECT " + std::string(kAdRowColumns) + " FROM ads WHERE retailer = $1";
  std::vector<Param> params{Param::Text(retailer)};
  if (status) {
    params.push_back(Param::Text(*status));
    sql += " AND status = $" + std::to_string(params.size());
  }
  if (after) {
    params.push_back(Param::Int(after->created_us));
    params.push_back(Param::Text(after->ad_id));
    sql += " AND (created_us, ad_id) < ($" + std::to_string(params.size() - 1) + ", $" + std::to_string(params.size()) +
           ")";
  }
  params.push_back(Param::Int(limit));
  sql += " ORDER BY created_us DESC, ad_id DESC LIMIT $" + std::to_string(params.size());
  return Rows(sql, params);
}

cqrs::Result<std::vector<AdRow>> PgAdQueries::DecidedOn(const std::string& retailer, const std::string& day) const {
  return Rows("SELECT " + std::string(kAdRowColumns) +
                  " FROM ads WHERE retailer = $1 AND decided_day = $2 ORDER BY decided_us, ad_id",
              {Param::Text(retailer), Param::Text(day)});
}

}  // namespace adsd::ads
