#include "cqrs/store/postgres/checkpoints.h"

#include <algorithm>

namespace cqrs {

namespace {
std::optional<Sha256Digest> DigestOf(const pg::Rows& r, int row, int col) {
  if (r.IsNull(row, col)) return std::nullopt;
  const std::string bytes = r.Bytes(row, col);
  if (bytes.size() != Sha256Digest().size()) return std::nullopt;
  Sha256Digest d{};
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}
}  // namespace

Result<std::vector<NamedCheckpoint>> FindNamedCheckpointsAhead(pg::Connection& conn) {
  ASSIGN_OR_RETURN(pg::Rows r, conn.Query("SELECT c.name, c.position, c.hash, e.hash, h.position FROM checkpoints c "
                                          "CROSS JOIN log_head h LEFT JOIN events e ON e.position = c.position "
                                          "WHERE c.position > 0 AND (c.position > h.position OR "
                                          "(c.hash IS NOT NULL AND e.hash IS DISTINCT FROM c.hash)) ORDER BY c.name"));
  std::vector<NamedCheckpoint> out;
  for (int i = 0; i < r.size(); ++i) {
    NamedCheckpoint n;
    n.name = std::string(r.Text(i, 0));
    n.check.checkpoint = {Position(static_cast<std::uint64_t>(r.Int(i, 1))), DigestOf(r, i, 2)};
    n.check.store_hash = DigestOf(r, i, 3);
    n.check.head = Position(static_cast<std::uint64_t>(r.Int(i, 4)));
    n.check.state =
        n.check.checkpoint.position > n.check.head ? CheckpointState::kPastHead : CheckpointState::kOtherEvent;
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace cqrs
