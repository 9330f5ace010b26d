// The bank's read side: a table of balances in SQLite, kept up to date from the store's global
// order by cqrs::projection::ProjectionRunner (each batch of events and the runner's checkpoint in
// one transaction, so an event is applied exactly once even across crashes).
#pragma once

#include <optional>

#include "cqrs/projection/projection.h"

namespace bank {

class BalancesProjection final : public cqrs::projection::Projection {
 public:
  std::string_view name() const override { return "balances"; }
  cqrs::Status Migrate(cqrs::sql::Database& db) override;
  cqrs::Status Apply(cqrs::sql::Database& db, const cqrs::RecordedEvent& event) override;
  void Closing(cqrs::sql::Database&) override { upsert_.reset(); }

 private:
  std::optional<cqrs::sql::Statement> upsert_;  // prepared on first use, on the runner's thread
};

}  // namespace bank
