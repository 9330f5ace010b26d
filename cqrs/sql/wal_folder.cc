#include "cqrs/sql/wal_folder.h"

#include "cqrs/core/thread_name.h"
#include "cqrs/sql/sqlite.h"

namespace cqrs::sql {

WalFolder::WalFolder(std::filesystem::path db, std::chrono::milliseconds every) : path_(std::move(db)), every_(every) {
  thread_ = std::thread([this] {
    NameThisThread("checkpoint");
    Run();
  });
}

WalFolder::~WalFolder() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

Status WalFolder::status() const {
  MutexLock lock(mu_);
  return status_;
}

void WalFolder::Run() {
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
