// The event log's verification as adsctl and adsd report it: `adsctl verify` (offline, a data
// directory or a PostgreSQL store) and `GET /v1/admin/verify` (online, the store this process
// serves) walk the same verifiers (cqrs/log/verify.h, cqrs/store/postgres/verify.h) and give the
// same report.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/store/event_store.h"

namespace adsd::app {

struct LogVerifyReport {
  std::uint64_t records = 0;
  cqrs::Sha256Digest head_hash{};
  std::optional<std::uint64_t> torn_tail_bytes;  // the embedded log only
  struct Problem {
    cqrs::Position position;
    std::optional<std::pair<std::string, std::uint64_t>> segment_offset;  // the embedded log only
    std::string reason;
  };
  std::optional<Problem> problem;
};

// The embedded log in `log_dir` (read-only; a write in progress at its end shows as a torn tail).
cqrs::Result<LogVerifyReport> VerifyEmbeddedLog(const std::filesystem::path& log_dir);
// A PostgreSQL event store: positions without gaps and the hash chain.
cqrs::Result<LogVerifyReport> VerifyPostgresLog(const cqrs::EventStore& store);

// {"records", "head_hash", ["torn_tail_bytes"], "problem": null | {"position", ["segment",
// "offset"], "reason"}}
std::string LogVerifyJson(const LogVerifyReport& r);

}  // namespace adsd::app
