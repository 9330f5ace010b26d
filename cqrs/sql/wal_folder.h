// WalFolder: folds a database's WAL back into the file from a thread of its own.
//
// SQLite calls this fold a "checkpoint"; in this code base a checkpoint is a consumer's position
// (docs/architecture.md, "Names"), so the fold has its own name. SQLite's automatic checkpoint runs inside the commit
// that crosses the threshold, so one commit in a thousand pays for writing (and, with synchronous=NORMAL, fsyncing) the
// pages of all the others: for a read model that shows as a write-to-read lag spike. The writer turns automatic
// checkpoints off (PRAGMA wal_autocheckpoint=0) and this thread runs PASSIVE checkpoints, which
// never block the writer or the readers, on its own connection.
//
// Lifecycle: the thread starts in the constructor and stops in the destructor.
// Thread-safety: status() from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"

namespace cqrs::sql {

class WalFolder {
 public:
  WalFolder(std::filesystem::path db, std::chrono::milliseconds every);
  ~WalFolder();
  // The last fold's outcome.
  Status status() const EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);

  const std::filesystem::path path_;
  const std::chrono::milliseconds every_;

  mutable Mutex mu_;
  CondVar cv_;  // stop_ set
  bool stop_ GUARDED_BY(mu_) = false;
  Status status_ GUARDED_BY(mu_);

  std::thread thread_;  // started in the constructor's body, once every member above exists
};

}  // namespace cqrs::sql
