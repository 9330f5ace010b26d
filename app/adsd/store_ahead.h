// Consumers ahead of a PostgreSQL event store: the check an adsd process of the distributed shape
// makes at start, and the repair.
//
// After the store goes back in time (a point-in-time restore of its cluster, scripts/pg-backup.sh;
// a failover that lost commits), what consumed it before may stand past its head, or at a
// position the store has since given to another event (cqrs/store/checkpoint_check.h). Each
// consumer keeps the position and hash of the last event it applied where it keeps its
// checkpoint, and at start this check holds them against the store:
//
//   consumer                           where its checkpoint is              repair (--repair-ahead)
//   the Kafka topic (the relay's      the newest events of each partition   a new topic generation:
//   output, the workers' input)       (ce_position, ce_hash)                the relay republishes the
//                                                                           store's history into it,
//                                                                           workers follow it
//   the relay's and the webhook       table `checkpoints` in the store's    the relay's row removed
//   fan-out's checkpoints             database (restored with it)           (it republishes); the
//                                                                           fan-out's set to the head
//   a read process's SQLite model     DATA_DIR/read.db                      removed: rebuilt
//   the validator's offset (a worker  DATA_DIR/offsets/validator.offset     set back to 0: every
//   following the store, no bus)      (its position only)                   undecided ad is judged
//   the shared PostgreSQL read model  its projection_checkpoints            emptied: rebuilt
//                                     (checked by its runner, read_side.h)
//
// Without the repair the process refuses to start, naming every consumer found ahead, where it
// stands, and the remedy. Thread-safety: call before the consumers start.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/kafka/bus.h"
#include "cqrs/kafka/generation.h"
#include "cqrs/store/checkpoint_check.h"
#include "cqrs/store/event_store.h"

namespace adsd::app {

struct StoreAheadCheck {
  std::string store_url;  // the event store's database (its `checkpoints`, the bus generations)
  // What this process runs, and so checks: the store's own checkpoints and the bus (write and
  // worker processes: they run the relay and the webhook fan-out), a SQLite read model, the
  // validator's offset in DATA_DIR/offsets (a worker without a bus).
  bool checks_store_checkpoints = false;
  std::optional<cqrs::kafka::BusOptions> bus;  // the bus's base topic (generation 1)
  std::optional<std::filesystem::path> sqlite_read_model;
  std::optional<std::filesystem::path> offsets_dir;
  cqrs::AheadPolicy policy = cqrs::AheadPolicy::kRefuse;
};

struct StoreAheadOutcome {
  // The bus's current generation (after the repair, the new one); set when `bus` was.
  std::optional<cqrs::kafka::TopicGeneration> generation;
  std::vector<std::string> repairs;  // one line per repair made
};

// kCorruption naming every consumer ahead and the remedy (policy kRefuse), or the repairs made.
cqrs::Result<StoreAheadOutcome> CheckConsumersAgainstStore(const cqrs::EventStore& store, const StoreAheadCheck& check);

// The remedy adsd's refusals name.
inline constexpr std::string_view kStoreAheadRemedy =
    "the event store went back in time (a restore?): start each process once with --repair-ahead to repair what "
    "it runs (docs/operations.md, \"After a restore\")";

}  // namespace adsd::app
