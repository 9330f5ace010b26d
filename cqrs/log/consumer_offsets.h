// ConsumerOffsets: durable per-group checkpoints (positions) for consumers of the log.
//
// The name is older than the code base's vocabulary, where a consumer's position is its
// *checkpoint* and an *offset* is Kafka's (docs/architecture.md, "One name per concept"); it
// stays because this header is installed, as does the directory it writes (DATA_DIR/offsets).
//
// A consumer group records the last position it has fully processed. Commit() is durable when it
// returns (write to a temporary file, fdatasync, rename over the old file, fsync the directory),
// so after a crash a group resumes at or after its last commit, never before.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs::log {

class ConsumerOffsets {
 public:
  // Opens (creating if needed) the offsets directory and loads every group's offset.
  static Result<std::unique_ptr<ConsumerOffsets>> Open(const std::filesystem::path& dir);

  // Last committed position of `group`, 0 if it never committed.
  Position Load(const std::string& group) const EXCLUDES(mu_);
  // Group names: [A-Za-z0-9._-]{1,128}.
  Status Commit(const std::string& group, Position processed) EXCLUDES(mu_);

 private:
  explicit ConsumerOffsets(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  mutable Mutex mu_;
  std::map<std::string, Position> offsets_ GUARDED_BY(mu_);
};

}  // namespace cqrs::log
