// BusConsumer: one member of a consumer group on the bus.
//
// The group spreads the topic's partitions over its members; this member handles the events of
// its partitions on `lanes` threads at once, each stream's events in order (KeyedLanes), and
// commits a partition's offset only up to where every event before it has been handled, i.e.
// its effect is durable: at-least-once delivery, so handlers must be idempotent.
//
// Reassignment: when the group takes partitions away (a member joins or leaves), the member
// finishes what it has in flight, commits, and only then lets them go; the next owner starts at
// that commit. A member that dies (SIGKILL) commits nothing more: its partitions move after the
// session timeout and the next owner redoes what was handled but not committed; the handler's
// idempotence makes that harmless.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cqrs/kafka/bus.h"
#include "cqrs/projection/keyed_lanes.h"
#include "cqrs/store/event.h"

namespace cqrs::kafka {

struct ConsumerOptions {
  BusOptions bus;
  std::string group;
  int lanes = 1;  // events handled at once by this member
  // How long the group waits for a silent member before moving its partitions.
  std::chrono::milliseconds session_timeout{6000};
};

// Handles one event and returns once its effect is durable. An error stops the member; the
// event is not committed (a restart, or the next owner, gets it again).
using BusEventHandler = std::function<Status(const RecordedEvent&)>;

class BusConsumer {
 public:
  static Result<std::unique_ptr<BusConsumer>> Start(ConsumerOptions options, BusEventHandler handler);
  ~BusConsumer();  // finishes in-flight events, commits, leaves the group

  // Ok while consuming; the handler's error once it stopped, or a bus error that has lasted 5 s.
  Status status() const;
  std::uint64_t handled() const { return handled_.load(); }
  int assigned_partitions() const { return assigned_.load(); }

 private:
  class Rebalance;
  // One dispatched message: the lanes see `seq`, the commit needs its partition and offset.
  struct InFlight {
    std::uint64_t seq;
    std::int32_t partition;
    std::int64_t offset;
  };
  BusConsumer(ConsumerOptions options, BusEventHandler handler);
  void Run();
  void Dispatch(RdKafka::Message& m);
  // Commits every partition up to the lanes' watermark. `all`: wait until everything
  // dispatched is handled first (before partitions are given up).
  void Commit(bool all);
  void Fail(Status st);

  const ConsumerOptions options_;
  BusEventHandler handler_;
  std::unique_ptr<Rebalance> rebalance_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<projection::KeyedLanes> lanes_;
  std::deque<InFlight> in_flight_;  // poll thread only
  std::uint64_t seq_ = 0;           // poll thread only
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> handled_{0};
  std::atomic<int> assigned_{0};
  mutable std::mutex mu_;
  Status failure_;    // guarded by mu_: the handler's error (final)
  Status transient_;  // guarded by mu_: the last bus error, cleared by the next good poll
  std::chrono::steady_clock::time_point transient_since_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cqrs::kafka
