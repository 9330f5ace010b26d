// LogSnapshotStore: a read-only EventStore over a log directory that another process may be
// writing (adsd serving), for audits and past read models (`adsctl rebuild --to-position`).
//
// It takes no lock and changes no byte: it never truncates a torn tail, it reads what is there.
// Open() walks the whole directory once, checking every record as `adsctl verify` does (frame,
// CRC32C, positions without gaps, the SHA-256 chain), and fixes the snapshot's head: the last
// record that verified, or an earlier `until` point. Later appends by the writer are not seen;
// damage before the head fails the open (naming segment and offset), a torn tail (a batch being
// written) ends the snapshot before it.
//
// ReadAll is sequential-friendly (a cursor continues where the previous call ended; another
// start position seeks to its segment); ReadStream and GetStreamVersion scan the snapshot (no
// stream index is kept: the store is for one pass, not for serving). Appends and subscriptions
// are refused with kInvalidArgument: nothing is ever written through a snapshot.
//
// Thread-safety: safe from any number of threads (reads are serialized).
#pragma once

#include <filesystem>
#include <memory>

#include "cqrs/core/types.h"
#include "cqrs/store/event_store.h"
#include "cqrs/store/log_point.h"

namespace cqrs {

struct LogSnapshotOptions {
  std::filesystem::path dir;
  LogPoint until;
};

// kInvalidArgument when `until.position` is past the log's verified end (the message names it).
Result<std::unique_ptr<EventStore>> OpenLogSnapshot(const LogSnapshotOptions& options);

}  // namespace cqrs
