#include "audit.h"

namespace bank {

void Audit::Record(const cqrs::RecordedEvent& event) {
  if (!event.stream.starts_with(prefix_)) return;
  cqrs::MutexLock lock(mu_);
  ++total_;
  ++by_type_[event.type];
  recorded_.SignalAll();
}

bool Audit::WaitFor(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  cqrs::MutexLock lock(mu_);
  while (total_ < n) {
    if (!recorded_.WaitUntil(mu_, deadline)) return total_ >= n;
  }
  return true;
}

std::string Audit::Summary() const {
  cqrs::MutexLock lock(mu_);
  std::string out;
  for (const auto& [type, count] : by_type_) {
    if (!out.empty()) out += ", ";
    out += type + " " + std::to_string(count);
  }
  return out;
}

}  // namespace bank
