#include "cqrs/sql/group_commit.h"

namespace cqrs::sql {

Status GroupCommit::Run(Operation op) {
  Waiter me{std::move(op)};
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leading_) {
      cv_.wait(lock);
      continue;
    }
    leading_ = true;
    std::vector<Waiter*> batch;
    batch.swap(queue_);
    lock.unlock();
    CommitBatch(batch);
    lock.lock();
    for (Waiter* w : batch) w->done = true;
    leading_ = false;
    cv_.notify_all();
  }
  return me.result;
}

void GroupCommit::CommitBatch(std::vector<Waiter*>& batch) {
  std::lock_guard db_lock(db_mu_);
  auto tx = Transaction::Begin(db_);
  if (!tx.ok()) {
    for (Waiter* w : batch) w->result = tx.status();
    return;
  }
  for (Waiter* w : batch) {
    if (Status st = db_.Exec("SAVEPOINT op"); !st.ok()) {
      w->result = st;
      continue;
    }
    w->result = w->op(db_);
    if (!w->result.ok()) (void)db_.Exec("ROLLBACK TO op");
    (void)db_.Exec("RELEASE op");
  }
  if (Status st = tx->Commit(); !st.ok()) {
    for (Waiter* w : batch) {
      if (w->result.ok()) w->result = st;
    }
  }
}

}  // namespace cqrs::sql
