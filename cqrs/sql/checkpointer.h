// Checkpointer: folds a database's WAL back into the file from a thread of its own.
//
// SQLite's automatic checkpoint runs inside the commit that crosses the threshold, so one commit
// in a thousand pays for writing (and, with synchronous=NORMAL, fsyncing) the pages of all the
// others: for a read model that shows as a write-to-read lag spike. The writer turns automatic
// checkpoints off (PRAGMA wal_autocheckpoint=0) and this thread runs PASSIVE checkpoints, which
// never block the writer or the readers, on its own connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cqrs/core/status.h"

namespace cqrs::sql {

class Checkpointer {
 public:
  Checkpointer(std::filesystem::path db, std::chrono::milliseconds every);
  ~Checkpointer();
  // The last checkpoint's outcome.
  Status status() const;

 private:
  void Run();

  const std::filesystem::path path_;
  const std::chrono::milliseconds every_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  Status status_;      // guarded by mu_
  std::thread thread_;
};

}  // namespace cqrs::sql
