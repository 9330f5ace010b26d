#include "cqrs/pg/advisory_lock.h"

#include <string>

#include "cqrs/core/sha256.h"

namespace cqrs::pg {

std::int64_t AdvisoryLockKey(std::string_view name) {
  const Sha256Digest d = Sha256(std::string(name));
  std::uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k = (k << 8) | d[i];
  return static_cast<std::int64_t>(k);
}

Result<bool> TryAdvisoryLock(Connection& conn, std::int64_t key) {
  ASSIGN_OR_RETURN(Rows got, conn.Query("SELECT pg_try_advisory_lock($1)", {Param::Int(key)}));
  return !got.empty() && got.Text(0, 0) == "t";
}

}  // namespace cqrs::pg
