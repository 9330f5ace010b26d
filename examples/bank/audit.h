// The bank's audit trail: a subscriber that counts what happened to this run's accounts. It is
// fed by a subscription to the store (embedded or PostgreSQL) or by a Kafka consumer group; the
// events and their order per account are the same either way.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "cqrs/core/mutex.h"
#include "cqrs/store/event.h"

namespace bank {

class Audit {
 public:
  // Counts events of streams that start with `stream_prefix` (this run's accounts).
  explicit Audit(std::string stream_prefix) : prefix_(std::move(stream_prefix)) {}

  // Called from the subscription's or the consumer's thread.
  void Record(const cqrs::RecordedEvent& event) EXCLUDES(mu_);
  // Waits until `n` events were recorded or the deadline passes; whether it got there.
  bool WaitFor(std::size_t n, std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);
  // "AccountOpened 2, Deposited 1, Withdrawn 2"
  std::string Summary() const EXCLUDES(mu_);

 private:
  const std::string prefix_;
  mutable cqrs::Mutex mu_;
  cqrs::CondVar recorded_;
  std::size_t total_ GUARDED_BY(mu_) = 0;
  std::map<std::string, int> by_type_ GUARDED_BY(mu_);
};

}  // namespace bank
