// Publishes recorded events to the bus: an idempotent producer (enable.idempotence, acks=all),
// keyed by stream so that each stream's events stay in order in one partition (the murmur2
// partitioner, as Java clients use, so that any client finds a stream's partition).
#pragma once

#include <memory>
#include <span>

#include "cqrs/kafka/bus.h"
#include "cqrs/store/event.h"

namespace cqrs::kafka {

class Publisher {
 public:
  static Result<std::unique_ptr<Publisher>> Open(const BusOptions& bus);
  ~Publisher();

  // Publishes `events` and returns once the brokers have acknowledged every one (all in-sync
  // replicas), or with the first error. On error some may have been published: publishing the
  // batch again is safe for consumers, which are idempotent.
  Status Publish(std::span<const RecordedEvent> events);

 private:
  class Reports;
  Publisher() = default;
  BusOptions bus_;
  std::unique_ptr<Reports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace cqrs::kafka
