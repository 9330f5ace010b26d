// Consumers ahead of the log: the check adsd makes at start, and the repair.
//
// When log recovery cuts records (a damaged last batch, an older copy of the log restored), the
// consumers that had read them (the SQLite read model's checkpoint, the validator's offset) now
// stand past the log head. Left alone, the next appends would reuse those positions and the
// consumers would skip them for ever: ads never shown, never validated. So a consumer ahead of
// the log never passes unnoticed: adsd refuses to start, naming both positions and the remedy,
// or, when asked (`adsd --repair-ahead`, `adsctl repair`), repairs: the read model is removed so
// that it is rebuilt from the log, and the validator's offset (any consumer group's offset in
// DATA_DIR/offsets) is set back to the log head (what the cut records held is gone; nothing
// after the head was decided).
//
// Only the embedded log in a data directory can lose its tail this way; a PostgreSQL store is
// not cut by recovery. Thread-safety: call before the consumers start; nothing else may use the
// files meanwhile.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/log/log.h"

namespace adsd::app {

// What to do with a consumer found ahead of the log.
enum class AheadPolicy { kRefuse, kRepair };

struct ConsumerAhead {
  std::string consumer;  // "read model (DATA_DIR/read.db)", "validator offset (DATA_DIR/offsets/…)"
  cqrs::Position at;     // where it stands
  std::string group;     // its consumer group in DATA_DIR/offsets; empty for the read model
};

// The consumers of the log in `data_dir` standing past `head`: the SQLite read model at
// `read_model` (its "ads" checkpoint) and every consumer group's offset in DATA_DIR/offsets (the
// validator's, and any other). A missing file is no consumer.
cqrs::Result<std::vector<ConsumerAhead>> FindConsumersAhead(const std::filesystem::path& data_dir,
                                                            const std::filesystem::path& read_model,
                                                            cqrs::Position head);

// kRefuse: kCorruption naming each consumer, its position, the log head and the two remedies,
// if any consumer is ahead. kRepair: repairs them; returns one line per repair, for the log.
cqrs::Result<std::vector<std::string>> CheckConsumersNotAhead(const std::filesystem::path& data_dir,
                                                              const std::filesystem::path& read_model,
                                                              cqrs::Position head, AheadPolicy policy);

// What adsd runs once its embedded log is open: writes to stderr what recovery cut (if it cut
// anything), then CheckConsumersNotAhead, writing each repair made.
cqrs::Status AfterLogRecovery(const cqrs::log::RecoveryReport& recovery, const std::filesystem::path& data_dir,
                              const std::filesystem::path& read_model, cqrs::Position head, AheadPolicy policy);

}  // namespace adsd::app
