#include "cqrs/sql/checkpointer.h"

#include "cqrs/core/thread_name.h"
#include "cqrs/sql/sqlite.h"

namespace cqrs::sql {

Checkpointer::Checkpointer(std::filesystem::path db, std::chrono::milliseconds every)
    : path_(std::move(db)), every_(every) {
  thread_ = std::thread([this] {
    NameThisThread("checkpoint");
    Run();
  });
}

Checkpointer::~Checkpointer() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

Status Checkpointer::status() const {
  MutexLock lock(mu_);
  return status_;
}

void Checkpointer::Run() {
  auto db = Database::Open(path_);
  MutexLock lock(mu_);
  if (!db.ok()) {
    status_ = db.status();
    return;
  }
  while (true) {
    const auto deadline = CondVar::Clock::now() + every_;
    while (!stop_) {
      if (!cv_.WaitUntil(mu_, deadline)) break;
    }
    if (stop_) return;
    lock.Unlock();
    Status st = (*db)->Exec("PRAGMA wal_checkpoint(PASSIVE)");
    lock.Lock();
    status_ = st;
  }
}

}  // namespace cqrs::sql
