// AdsPgReadModel: the Read API's ads read model in PostgreSQL (`adsd --read-db postgresql://...`).
//
// The same rows as the SQLite model (read_model.h) — one per ad, same columns, same indexes — so
// the two answer every query alike. Text keys use the "C" collation: listings page by
// (created_us, ad_id), and byte order is the order both databases must agree on.
#pragma once

#include "cqrs/projection/pg_projection.h"

namespace adsd::ads {

class AdsPgReadModel final : public cqrs::projection::PgProjection {
 public:
  std::string_view name() const override { return "ads"; }
  std::span<const cqrs::pg::Migration> Migrations() const override;
  std::vector<std::pair<std::string, std::string>> PreparedStatements() const override;
  cqrs::Status Apply(const cqrs::RecordedEvent& event, std::vector<cqrs::pg::Statement>& out) const override;
  std::vector<std::string> Reset() const override { return {"DELETE FROM ads"}; }
};

}  // namespace adsd::ads
