// AdsReadModel: the projection behind the Read API — one denormalized row per ad.
//
//   ads(ad_id, retailer, status, ad_json, reasons_json, version, position,
//       created_us, updated_us, decided_us, decided_day)
//
// status is pending | approved | rejected | withdrawn. Rows are keyed by ad id and indexed for
// "a retailer's ads by status, newest first" (submission time, then id) and "a
// retailer's ads decided on a day" (the daily report). Applying an event is idempotent on its own
// too (a submission inserts only if absent; updates carry the event's version), and the runner
// skips redeliveries by checkpoint.
#pragma once

#include <map>

#include "cqrs/projection/projection.h"

namespace adsd::ads {

class AdsReadModel final : public cqrs::projection::Projection {
 public:
  std::string_view name() const override { return "ads"; }
  cqrs::Status Migrate(cqrs::sql::Database& db) override;
  cqrs::Status MigrateForBulkLoad(cqrs::sql::Database& db) override;
  cqrs::Status Apply(cqrs::sql::Database& db, const cqrs::RecordedEvent& event) override;
  void Closing(cqrs::sql::Database& db) override {
    if (&db == prepared_for_) {
      statements_.clear();
      prepared_for_ = nullptr;
    }
  }

 private:
  // Statements prepared once per database (preparing per event cost more than running them).
  cqrs::Result<cqrs::sql::Statement*> Statement(cqrs::sql::Database& db, int which, std::string_view sql);
  cqrs::sql::Database* prepared_for_ = nullptr;
  std::map<int, cqrs::sql::Statement> statements_;
};

}  // namespace adsd::ads
