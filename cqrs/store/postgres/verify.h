// Verify for the PostgreSQL event store (`adsctl verify --store postgresql://...`): walks the
// global order and checks that positions run 1, 2, 3 ... without a gap and that every row's hash
// is SHA-256(previous hash || its fields) (PostgresChainHash). Names the first position where
// either fails: a row changed, removed, inserted or reordered by hand.
#pragma once

#include <optional>
#include <string>

#include "cqrs/store/event_store.h"

namespace cqrs {

struct ChainReport {
  std::uint64_t records = 0;
  Sha256Digest head_hash{};
  struct Problem {
    Position position;
    std::string reason;
  };
  std::optional<Problem> problem;
};

Result<ChainReport> VerifyPostgresChain(const EventStore& store);

}  // namespace cqrs
