// BusConsumer: one member of a consumer group on the bus, on the consumer framework
// (cqrs/consumer: lanes, the one handler signature, the retry policy, the watermark).
//
// The group spreads the topic's partitions over its members; this member handles the events of
// its partitions on `lanes` threads at once, each stream's events in order, and commits a
// partition's offset only up to where every event before it is settled, i.e. its effect is
// durable: at-least-once delivery, so handlers must be idempotent. Its offsets are Kafka's own,
// per partition (PartitionOffset); nothing of them travels in cqrs::Position.
//
// Commits: every 100 ms the poll thread hands the settled offsets to commitAsync (the poll loop
// never waits for a broker round trip; an error comes back through the next poll and is retried
// by the next commit). When partitions are revoked, it first waits for everything taken from them
// to settle (retries go on meanwhile), then commits synchronously, and only then lets them go;
// the next owner starts at that commit. When the member stops, the handler calls in flight
// settle, retries are not waited out, and it commits synchronously what settled before leaving. A member that dies
// (SIGKILL) commits nothing more: its partitions move after the session timeout and the next owner redoes what was
// settled but not committed; the handler's idempotence makes that harmless.
//
// Thread-safety: status(), handled(), assigned_partitions() from any thread. Lifecycle: Start()
// joins the group at once; the destructor drains, commits and leaves.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "cqrs/consumer/dispatcher.h"
#include "cqrs/consumer/offset_ledger.h"
#include "cqrs/core/mutex.h"
#include "cqrs/kafka/bus.h"

namespace cqrs::kafka {

struct ConsumerOptions {
  BusOptions bus;
  std::string group;
  int lanes = 1;  // events handled at once by this member
  // How long the group waits for a silent member before moving its partitions.
  std::chrono::milliseconds session_timeout{6000};
  consumer::RetryPolicy retry;
  consumer::Filter filter;  // events the handler never sees are settled at once
  // Events at or below this position may have been handled before, whatever the partition's
  // offsets say: a new topic generation republishes the store's history (generation.h). The
  // handler is told so (consumer::Delivery::kMaybeRepeated).
  Position maybe_repeated_through{0};
};

// Where a message is on the bus: the consumer's offset type.
struct PartitionOffset {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

class BusConsumer {
 public:
  static Result<std::unique_ptr<BusConsumer>> Start(ConsumerOptions options, consumer::Handler handler);
  // The handler is told which messages may have reached a handler before (handler.h): those
  // below a partition's end offset when this member was assigned it, and every retry.
  static Result<std::unique_ptr<BusConsumer>> Start(ConsumerOptions options, consumer::DeliveryHandler handler);
  ~BusConsumer();  // settles in-flight events, commits, leaves the group

  // Ok while consuming; the handler's permanent error, or a bus error that has lasted 5 s.
  Status status() const EXCLUDES(mu_);
  std::uint64_t handled() const { return dispatcher_->handled(); }
  int assigned_partitions() const { return assigned_.load(); }

 private:
  class Rebalance;
  class CommitResult;
  BusConsumer(ConsumerOptions options, consumer::DeliveryHandler handler);
  void Run();
  void Take(RdKafka::Message& m);
  enum class CommitMode { kAsync, kDrainAndWait };
  // Commits every partition up to the watermark. kDrainAndWait first waits until everything
  // taken is settled (unless the dispatcher stopped; at most kDrainLimit), then waits for the
  // broker's answer: partitions are given up after it.
  void Commit(CommitMode mode);
  void SetTransient(Status st) EXCLUDES(mu_);

  const ConsumerOptions options_;
  std::unique_ptr<consumer::Dispatcher> dispatcher_;
  std::unique_ptr<Rebalance> rebalance_;
  std::unique_ptr<CommitResult> commit_result_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  consumer::OffsetLedger<PartitionOffset> ledger_;  // poll thread only (the rebalance callback runs there)
  consumer::Ticket last_taken_;                     // poll thread only
  std::map<std::int32_t, std::int64_t> first_new_;  // poll thread only: partition -> its end when assigned
  std::atomic<bool> stop_{false};
  std::atomic<int> assigned_{0};
  mutable Mutex mu_;
  Status transient_ GUARDED_BY(mu_);  // the last bus error, cleared by the next good poll
  std::chrono::steady_clock::time_point transient_since_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cqrs::kafka
