// The PostgreSQL event store's schema, as versioned migrations (cqrs/pg/migrations.h).
#pragma once

#include <span>

#include "cqrs/pg/migrations.h"

namespace cqrs {

inline constexpr std::string_view kEventStoreComponent = "event_store";
std::span<const pg::Migration> EventStoreMigrations();

// The session advisory lock whose holder leads the sequencing (pg::AdvisoryLockKey of this).
inline constexpr std::string_view kSequencerLockName = "cqrs.event_store.sequencer";

}  // namespace cqrs
