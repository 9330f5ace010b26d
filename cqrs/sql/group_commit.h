// GroupCommit: many threads' small writes to one SQLite database, committed together.
//
// With synchronous=FULL every commit is an fsync; one transaction per request serializes the
// requests behind the disk (the cqrs pipeline's outbox did ~1,200 stores/s that way). Here a
// caller queues its operation and the first caller to find no commit in progress becomes the
// leader: it runs every queued operation in one transaction, each in its own savepoint (so one
// failing operation fails alone), commits once, and hands each caller its own result. While the
// leader waits for the disk, the next batch gathers.
//
// Thread-safety: Run() from any thread. The database is used only under `db_mu`, which the
// owner also takes for its other statements.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

#include "cqrs/sql/sqlite.h"

namespace cqrs::sql {

class GroupCommit {
 public:
  using Operation = std::function<Status(Database&)>;

  GroupCommit(Database& db, std::mutex& db_mu) : db_(db), db_mu_(db_mu) {}

  // Runs `op` inside a shared transaction; returns once that transaction is durable (or failed).
  Status Run(Operation op);
  // Queues `op` for the next shared transaction without waiting for it: for writes whose loss
  // in a crash is harmless (a redo fixes it). It rides with the next Run(); if none is under way,
  // the caller commits it. Its outcome is not reported.
  void RunDetached(Operation op);

 private:
  struct Waiter {
    Operation op;
    Status result;
    bool done = false;
  };
  void CommitBatch(std::vector<Waiter*>& batch, std::vector<Operation>& detached);
  // Leads commits while there is something to commit and no waiter to lead next. Under mu_
  // (released while committing).
  void Lead(std::unique_lock<std::mutex>& lock);

  Database& db_;
  std::mutex& db_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter*> queue_;  // guarded by mu_
  std::vector<Operation> detached_;  // guarded by mu_
  bool leading_ = false;        // guarded by mu_: a leader is committing
};

}  // namespace cqrs::sql
