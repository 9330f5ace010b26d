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
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status Checkpointer::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void Checkpointer::Run() {
  auto db = Database::Open(path_);
  std::unique_lock lock(mu_);
  if (!db.ok()) {
    status_ = db.status();
    return;
  }
  while (!cv_.wait_for(lock, every_, [&] { return stop_; })) {
    lock.unlock();
    Status st = (*db)->Exec("PRAGMA wal_checkpoint(PASSIVE)");
    lock.lock();
    status_ = st;
  }
}

}  // namespace cqrs::sql
