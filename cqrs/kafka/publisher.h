// Publishes events to the bus as CloudEvents (event_codec.h): an idempotent producer
// (enable.idempotence, acks=all), keyed by stream so that each stream's events stay in order in
// one partition (the murmur2 partitioner, as Java clients use, so that any client finds a
// stream's partition).
//
// Two ways to publish: Publish() sends and waits for the brokers' acknowledgements; Send() hands
// a batch to the producer and returns at once, and Await() waits for that batch, so a caller can
// prepare the next batch while one is in flight (the relay reads the store meanwhile). Batches
// are acknowledged in the order they were sent to a partition (the idempotent producer keeps
// order across retries); a caller checkpoints a batch only after Await() says it was delivered.
//
// Thread-safety: one thread at a time (the relay's, a pipeline's own); not shared.
#pragma once

#include <chrono>
#include <memory>
#include <span>

#include "cqrs/kafka/bus.h"
#include "cqrs/kafka/event_codec.h"
#include "cqrs/store/event.h"

namespace cqrs::kafka {

class Publisher {
 public:
  static Result<std::unique_ptr<Publisher>> Open(const BusOptions& bus);
  ~Publisher();  // waits up to 5 s for what is in flight

  // One batch handed to the producer; its delivery reports count down in it.
  class Batch;
  using BatchHandle = std::shared_ptr<Batch>;

  // Encodes and hands `events` (or ready messages) to the producer; the batch's handle, or the
  // first local error (some of the batch may be in flight then: sending it again is safe for
  // consumers, which are idempotent).
  Result<BatchHandle> Send(std::span<const RecordedEvent> events);
  Result<BatchHandle> Send(std::span<const BusMessage> messages);
  // Waits until every message of `batch` is acknowledged by the brokers (all in-sync replicas),
  // or one failed, or `timeout` passed: Ok, or kUnavailable with the first error.
  Status Await(const BatchHandle& batch, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Send + Await.
  Status Publish(std::span<const RecordedEvent> events);
  Status Publish(std::span<const BusMessage> messages);

 private:
  class Reports;
  Publisher() = default;
  template <typename T, typename Encode>
  Result<BatchHandle> SendAll(std::span<const T> items, Encode encode);
  Status Produce(BusMessage m, const BatchHandle& batch);

  BusOptions bus_;
  std::unique_ptr<Reports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace cqrs::kafka
