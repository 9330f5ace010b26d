// PgAdQueries: the Read API's queries on the ads read model in PostgreSQL (pg_read_model.h).
//
// Connections come from a pool (one per concurrent query, kept idle up to `max_idle`). A query
// that finds the server gone fails with kUnavailable (the route answers 503); the next one opens
// a new connection.
#pragma once

#include <string>

#include "ads/read/ad_queries.h"
#include "cqrs/pg/pool.h"

namespace adsd::ads {

class PgAdQueries final : public AdQueries {
 public:
  PgAdQueries(std::string url, int max_idle) : pool_(std::move(url), max_idle) {}

  cqrs::Result<std::optional<AdRow>> Get(const std::string& ad_id) const override;
  cqrs::Result<std::vector<AdRow>> List(const std::string& retailer, const std::optional<std::string>& status,
                                        int limit, const std::optional<Cursor>& after) const override;
  cqrs::Result<std::vector<AdRow>> DecidedOn(const std::string& retailer, const std::string& day) const override;

 private:
  cqrs::Result<std::vector<AdRow>> Rows(const std::string& sql, const std::vector<cqrs::pg::Param>& params) const;

  cqrs::pg::Pool pool_;
};

}  // namespace adsd::ads
