// Session advisory locks: how one process among several takes a role (the bus relay, a
// projection's writer). The server releases a session lock when its connection ends, so a
// crashed holder hands over as soon as its socket closes.
#pragma once

#include <cstdint>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/pg/connection.h"

namespace cqrs::pg {

// The lock key of a role's name: the first 8 bytes of the SHA-256 of `name`.
std::int64_t AdvisoryLockKey(std::string_view name);

// pg_try_advisory_lock on `conn`'s session: true if this session holds it now.
Result<bool> TryAdvisoryLock(Connection& conn, std::int64_t key);

}  // namespace cqrs::pg
