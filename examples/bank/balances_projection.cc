#include "balances_projection.h"

#include "account.h"

namespace bank {

// [snippet:projection]
cqrs::Status BalancesProjection::Migrate(cqrs::sql::Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS balances ("
      "  stream TEXT PRIMARY KEY, owner TEXT NOT NULL, cents INTEGER NOT NULL, version INTEGER NOT NULL)");
}

cqrs::Status BalancesProjection::Apply(cqrs::sql::Database& db, const cqrs::RecordedEvent& event) {
  if (!upsert_) {
    ASSIGN_OR_RETURN(upsert_, db.Prepare("INSERT INTO balances (stream, owner, cents, version) VALUES (?1, ?2, ?3, ?4) "
                                         "ON CONFLICT (stream) DO UPDATE SET cents = cents + ?3, version = ?4"));
  }
  std::int64_t delta = 0;
  std::string owner;
  if (event.type == "AccountOpened") {
    owner = event.payload;
  } else if (event.type == "Deposited") {
    delta = Amount(event);
  } else if (event.type == "Withdrawn") {
    delta = -Amount(event);
  } else {
    return cqrs::Status::Ok();  // not an account's event
  }
  upsert_->Reset();
  return upsert_->Bind(1, event.stream)
      .Bind(2, owner)
      .Bind(3, delta)
      .Bind(4, static_cast<std::int64_t>(event.version.value()))
      .Run();
}
// [end:projection]

}  // namespace bank
