// BusRelay: the transactional outbox between the event store and the bus.
//
// The event store is the outbox: an event is committed there first, and the relay publishes the
// global order to the bus from its checkpoint on, then stores the checkpoint (PostgreSQL table
// `checkpoints`, row `name`) once the brokers have acknowledged the batch. A crash between the
// store's commit and the publish, or between the publish and the checkpoint, is covered: the next
// relay starts at the checkpoint and publishes again what may have been lost (at-least-once;
// consumers are idempotent).
//
// Exactly one relay publishes at a time, whatever the number of processes running one: the
// leader holds a PostgreSQL session advisory lock, which the server releases when the leader's
// connection dies: at once when the leader's kernel closes the socket (a killed process), within
// ~25 s when its host vanishes (the session keepalives of pg::Connection::Open). The others retry
// every half second.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cqrs/kafka/bus.h"
#include "cqrs/store/event_store.h"

namespace cqrs::kafka {

struct RelayOptions {
  BusOptions bus;
  std::string postgres_url;  // checkpoint and leader lock
  std::string name = "bus-relay";
  std::size_t max_batch = 2000;
  // Test-only: runs right before each batch is published (a crash-point for the relay test).
  std::function<void()> before_publish;
};

class BusRelay {
 public:
  static Result<std::unique_ptr<BusRelay>> Start(const EventStore& store, RelayOptions options);
  ~BusRelay();

  bool leader() const { return leader_.load(); }
  // Everything at or below this position is on the bus (as far as this process knows).
  Position published() const { return Position(published_.load()); }
  // Ok, or the last error while it lasts (the relay retries on its own).
  Status status() const;

 private:
  BusRelay(const EventStore& store, RelayOptions options) : store_(store), options_(std::move(options)) {}
  void Run();
  void SetStatus(Status st);
  void Pause(std::chrono::milliseconds d) const;

  const EventStore& store_;
  const RelayOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  std::atomic<std::uint64_t> published_{0};
  mutable std::mutex mu_;
  Status status_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cqrs::kafka
