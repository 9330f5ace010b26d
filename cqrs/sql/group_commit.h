// GroupCommit: many threads' small writes to one SQLite database, committed together.
//
// With synchronous=FULL every commit is an fsync; one transaction per request serializes the
// requests behind the disk (the cqrs pipeline's outbox did ~1,200 stores/s that way). Here a
// caller queues its operation and the first caller to find no commit in progress becomes the
// leader: it runs every queued operation in one transaction, each in its own savepoint (so one
// failing operation fails alone), commits once, and hands each caller its own result. While the
// leader waits for the disk, the next batch gathers.
//
// Thread-safety: Run() and RunDetached() from any thread, never with `db_mu` held. The database
// is used only under `db_mu`, which the owner also takes for its other statements; operations
// run with it held (an owner's operation that touches members guarded by it says so with
// `db_mu.AssertHeld()`: the analysis cannot follow the call through std::function).
#pragma once

#include <functional>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/sql/sqlite.h"

namespace cqrs::sql {

class GroupCommit {
 public:
  using Operation = std::function<Status(Database&)>;

  // `db` and `db_mu` must outlive the GroupCommit.
  GroupCommit(Database& db, Mutex& db_mu) : db_mu_(db_mu), db_(db) {}

  // Runs `op` inside a shared transaction; returns once that transaction is durable (or failed).
  Status Run(Operation op) EXCLUDES(mu_, db_mu_);
  // Queues `op` for the next shared transaction without waiting for it: for writes whose loss
  // in a crash is harmless (a redo fixes it). It rides with the next Run(); if none is under way,
  // the caller commits it. Its outcome is not reported.
  void RunDetached(Operation op) EXCLUDES(mu_, db_mu_);

 private:
  struct Waiter {
    Operation op;
    Status result;
    bool done = false;
  };
  // Runs one batch in one transaction. Lock order: mu_ is not held here (the next batch gathers
  // under it meanwhile); db_mu_ is taken inside.
  void CommitBatch(std::vector<Waiter*>& batch, std::vector<Operation>& detached) EXCLUDES(mu_, db_mu_);
  // Leads commits while there is something to commit and no waiter to lead next. Releases mu_
  // while committing and holds it again when it returns.
  void Lead() REQUIRES(mu_);

  Mutex& db_mu_;
  Database& db_ GUARDED_BY(db_mu_);

  Mutex mu_;
  CondVar cv_;                                       // a batch committed, or the leader left
  std::vector<Waiter*> queue_ GUARDED_BY(mu_);       // waiters of the next batch
  std::vector<Operation> detached_ GUARDED_BY(mu_);  // detached operations of the next batch
  bool leading_ GUARDED_BY(mu_) = false;             // a leader is committing
};

}  // namespace cqrs::sql
