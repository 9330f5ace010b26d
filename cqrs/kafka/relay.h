// BusRelay: the transactional outbox between the event store and the bus.
//
// The event store is the outbox: an event is committed there first, and the relay publishes the
// global order to the bus from its checkpoint on, then stores the checkpoint (PostgreSQL table
// `checkpoints`, row `name`) once the brokers have acknowledged the batch. A crash between the
// store's commit and the publish, or between the publish and the checkpoint, is covered: the next
// relay starts at the checkpoint and publishes again what may have been lost (at-least-once;
// consumers are idempotent).
//
// Reads overlap publishes: while one batch is in flight to the brokers, the relay reads the next
// one from the store and hands it to the producer, then waits for the first batch's
// acknowledgements and checkpoints it. At most two batches are in flight; a failed batch makes the
// relay start over from the checkpoint with a new producer (both batches are published again).
//
// Before it publishes anything as the leader, the relay holds the topic's newest events against
// the store (generation.h): a topic that holds events the store no longer has (the store went
// back in time) gets nothing more from it, and neither does a topic that is no longer its family's
// current generation. The relay then reports the error as its status and looks again every 5 s.
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
#include <optional>
#include <thread>

#include "cqrs/core/loop_status.h"
#include "cqrs/kafka/bus.h"
#include "cqrs/kafka/publisher.h"
#include "cqrs/store/event_store.h"

namespace cqrs::pg {
class Connection;
}  // namespace cqrs::pg

namespace cqrs::kafka {

struct RelayOptions {
  BusOptions bus;
  std::string postgres_url;  // checkpoint and leader lock
  std::string name = "bus-relay";
  std::size_t max_batch = 2000;
  // Test-only: runs right before each batch is published (a crash-point for the relay test).
  std::function<void()> before_publish;
  // The topic family (generation.h) whose current generation bus.topic must be; empty: the relay
  // does not look at generations.
  std::string generation_base;
  // Appended to the error of a topic found ahead of the store: what the operator should do.
  std::string ahead_remedy;
  // Called with the size of each batch handed to the producer (a metric: what bounds a batch is
  // `max_batch` and how much the store holds beyond the last batch sent). On the relay's thread.
  std::function<void(std::size_t events)> on_batch;
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
  // The topic is the current generation's and holds no event the store does not have.
  Status CheckBeforeLeading(pg::Connection& conn);
  // One turn of the leader's loop: reads the next batch, sends it, settles the one before.
  void Step(pg::Connection& conn, Publisher& publisher);
  // Waits for `batch`'s acknowledgements and stores the checkpoint. False: start over.
  bool Checkpoint(pg::Connection& conn, Publisher& publisher);
  void SetStatus(Status st);
  void Pause(std::chrono::milliseconds d) const;

  const EventStore& store_;
  const RelayOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  std::atomic<std::uint64_t> published_{0};
  // The relay thread's: the last position handed to the producer, and the batch in flight.
  std::uint64_t sent_ = 0;
  struct InFlight {
    Publisher::BatchHandle batch;
    std::uint64_t last = 0;
  };
  std::optional<InFlight> in_flight_;
  bool restart_ = false;  // the producer failed: a new one, from the checkpoint
  LoopStatus status_;
  std::thread thread_;
};

}  // namespace cqrs::kafka
