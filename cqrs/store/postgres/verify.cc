#include "cqrs/store/postgres/verify.h"

#include "cqrs/store/postgres/store.h"

namespace cqrs {

Result<ChainReport> VerifyPostgresChain(const EventStore& store) {
  ChainReport r;
  Position next(1);
  while (true) {
    ASSIGN_OR_RETURN(std::vector<RecordedEvent> batch, store.ReadAll(next, 4096));
    if (batch.empty()) break;
    for (const RecordedEvent& e : batch) {
      if (e.position != next) {
        r.problem = ChainReport::Problem{next, "position " + std::to_string(next.value()) + " is missing (found " +
                                                   std::to_string(e.position.value()) + " after it)"};
        return r;
      }
      const Sha256Digest expected = PostgresChainHash(r.head_hash, e);
      if (e.hash != expected) {
        r.problem = ChainReport::Problem{e.position, "the hash does not match the event and the chain before it"};
        return r;
      }
      r.head_hash = expected;
      ++r.records;
      next = e.position.next();
    }
  }
  return r;
}

}  // namespace cqrs
