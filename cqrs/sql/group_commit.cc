#include "cqrs/sql/group_commit.h"

namespace cqrs::sql {

Status GroupCommit::Run(Operation op) {
  Waiter me{std::move(op)};
  MutexLock lock(mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leading_) {
      cv_.Wait(mu_);
      continue;
    }
    Lead();
  }
  return me.result;
}

void GroupCommit::RunDetached(Operation op) {
  MutexLock lock(mu_);
  detached_.push_back(std::move(op));
  if (!leading_) Lead();
}

void GroupCommit::Lead() {
  leading_ = true;
  do {
    std::vector<Waiter*> batch;
    std::vector<Operation> detached;
    batch.swap(queue_);
    detached.swap(detached_);
    {
      MutexUnlock unlock(mu_);  // the next batch gathers while this one commits
      CommitBatch(batch, detached);
    }
    for (Waiter* w : batch) w->done = true;
    cv_.SignalAll();
    // Waiters that queued meanwhile wake up and one of them leads; detached operations with no
    // waiter to carry them are committed here.
  } while (queue_.empty() && !detached_.empty());
  leading_ = false;
  cv_.SignalAll();
}

void GroupCommit::CommitBatch(std::vector<Waiter*>& batch, std::vector<Operation>& detached) {
  MutexLock db_lock(db_mu_);
  auto tx = Transaction::Begin(db_);
  if (!tx.ok()) {
    for (Waiter* w : batch) w->result = tx.status();
    return;
  }
  auto in_savepoint = [&](const Operation& op) REQUIRES(db_mu_) {
    if (Status st = db_.Exec("SAVEPOINT op"); !st.ok()) return st;
    Status st = op(db_);
    if (!st.ok()) (void)db_.Exec("ROLLBACK TO op");
    (void)db_.Exec("RELEASE op");
    return st;
  };
  for (Waiter* w : batch) w->result = in_savepoint(w->op);
  for (const Operation& op : detached) (void)in_savepoint(op);
  if (Status st = tx->Commit(); !st.ok()) {
    for (Waiter* w : batch) {
      if (w->result.ok()) w->result = st;
    }
  }
}

}  // namespace cqrs::sql
