// The PostgreSQL event store's schema, as versioned migrations (cqrs/pg/migrations.h).
#pragma once

#include <span>

#include "cqrs/pg/migrations.h"

namespace cqrs {

inline constexpr std::string_view kEventStoreComponent = "event_store";
std::span<const pg::Migration> EventStoreMigrations();

// NOTIFY channel on which every append announces the new head.
inline constexpr std::string_view kHeadChannel = "adsd_log_head";

}  // namespace cqrs
