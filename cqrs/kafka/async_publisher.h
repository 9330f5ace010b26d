// AsyncPublisher: sends one message at a time and calls back once the brokers acknowledged it,
// for a caller that must not wait (an HTTP request answered from the acknowledgement).
//
// The same producer settings as Publisher (publisher.h): idempotent, acks=all, key = stream with
// the murmur2 partitioner, so what the callback reports is what the topic's durability settings
// promise (docs/deployment.md, "What an acknowledgement means"). Its own thread serves the
// producer's delivery reports and runs the callbacks: a callback must not block.
//
// Send() never blocks: when the producer's local queue is full it answers kUnavailable at once
// (the caller sheds load) instead of waiting for room.
//
// A fatal error of the idempotent producer (librdkafka's rd_kafka_fatal_error: e.g. a broker
// that lost the producer's sequence state in a leader change, "out of order sequence number")
// leaves that producer refusing every message for good. The reporting thread then replaces it with
// a new one (a new producer id): what the old one held is reported kUnavailable, as never
// acknowledged, and later messages go out on the new one. Without this a write process refused
// every submission after such a broker failure until it was restarted.
//
// Thread-safety: Send() from any thread. Lifecycle: Open() starts the reporting thread; the
// destructor waits up to 5 s for what is in flight, and reports kUnavailable to the rest.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/kafka/bus.h"
#include "cqrs/kafka/event_codec.h"

namespace cqrs::kafka {

class AsyncPublisher {
 public:
  // Called once per message: Ok once every in-sync replica has it, else kUnavailable with why.
  using Acknowledged = std::function<void(Status)>;

  // Publishes to `topic` of `bus` (not necessarily bus.topic).
  static Result<std::unique_ptr<AsyncPublisher>> Open(const BusOptions& bus, std::string topic);
  ~AsyncPublisher();

  // Hands `m` to the producer; `done` runs on the reporting thread, or here when the producer
  // refuses the message (queue full, message too large): then kUnavailable or kInvalidArgument.
  void Send(const BusMessage& m, Acknowledged done);

  // Messages handed over and not yet acknowledged or failed.
  std::size_t in_flight() const { return in_flight_.load(); }

  // Producers replaced after a fatal error since Open.
  std::size_t replaced() const { return replaced_.load(); }

  // Tests: raises a fatal error in the current producer, as a broker's would.
  void InjectFatalErrorForTesting() EXCLUDES(mu_);

 private:
  class Reports;
  AsyncPublisher() = default;
  void Serve() EXCLUDES(mu_);
  void ReplaceProducer(const std::string& why) EXCLUDES(mu_);

  BusOptions bus_;
  std::string topic_;
  std::unique_ptr<Reports> reports_;
  // Shared by Send() and the reporting thread's polls; replaced (exclusively) after a fatal error.
  SharedMutex mu_;
  std::unique_ptr<RdKafka::Producer> producer_ GUARDED_BY(mu_);
  std::atomic<std::size_t> replaced_{0};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cqrs::kafka
