// The embedded EventStore: the durable log plus an in-memory stream index.
//
// The stream index (stream name -> positions and event ids of its events) is rebuilt while the
// log is opened, in the same pass that checks the records. Appends check versions and stage
// records under one mutex, then wait for the group-commit writer outside it, so many appenders
// share each fdatasync.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "cqrs/core/status.h"
#include "cqrs/log/log.h"
#include "cqrs/store/event_store.h"

namespace cqrs {

struct EmbeddedStoreOptions {
  std::filesystem::path dir;  // the log's directory
  std::uint64_t segment_bytes = 256ull << 20;
  bool preallocate = true;                        // see LogOptions::preallocate
  std::function<void(double seconds)> on_commit;  // see LogOptions::on_commit
  // Called once by a successful open with what the log's recovery found (and cut).
  std::function<void(const log::RecoveryReport&)> on_recovery;
};

class EmbeddedEventStore;

// Opens (creating if needed) and recovers the store in `options.dir`.
Result<std::unique_ptr<EventStore>> OpenEmbeddedEventStore(const EmbeddedStoreOptions& options);

}  // namespace cqrs
