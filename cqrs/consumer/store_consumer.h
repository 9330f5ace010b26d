// StoreConsumer: a consumer of the event store's global order, e.g. a validation worker on the
// embedded log. Its offset is a `cqrs::Position`, kept durably under the consumer's group name
// in log::ConsumerOffsets.
//
// It subscribes after the group's committed position, hands every event to a Dispatcher (lanes,
// retry policy, watermark) and commits the highest position at and below which every event is
// settled, every `commit_every`, on a committer thread of its own (a commit is an fsync: neither
// the subscription nor a lane waits for it), and once more, synchronously, when it stops. After a
// crash it redoes at most what was in flight and what the last commit had not covered.
//
// Lifecycle: Start() subscribes at once. Stop() (or the destructor) stops delivery, waits for the
// handler calls in flight (see Dispatcher), then commits; events not settled are redone by the
// next run. Thread-safety: every method is safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cqrs/consumer/dispatcher.h"
#include "cqrs/consumer/offset_ledger.h"
#include "cqrs/core/mutex.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/store/event_store.h"

namespace cqrs::consumer {

struct StoreConsumerOptions {
  std::string group;  // the offset's name in ConsumerOffsets: [A-Za-z0-9._-]{1,128}
  DispatcherOptions dispatch;
  std::size_t max_batch = 512;  // events per subscription delivery
  std::chrono::milliseconds commit_every{100};
};

class StoreConsumer {
 public:
  // `store` and `offsets` must outlive the consumer.
  static Result<std::unique_ptr<StoreConsumer>> Start(EventStore& store, log::ConsumerOffsets& offsets, Handler handler,
                                                      StoreConsumerOptions options);
  // The handler is told which events an earlier run may have handled (handler.h): those after
  // the committed position up to the store's head when this consumer started.
  static Result<std::unique_ptr<StoreConsumer>> Start(EventStore& store, log::ConsumerOffsets& offsets,
                                                      DeliveryHandler handler, StoreConsumerOptions options);
  ~StoreConsumer();
  void Stop() EXCLUDES(mu_);

  // The committed position it started after.
  Position started_at() const { return started_at_; }
  // Every event at or below this position is settled (its effect durable); >= started_at().
  Position position() const EXCLUDES(mu_);
  // Ok while consuming; a handler's permanent error, an offset commit's error, or the
  // subscription's read error.
  Status status() const EXCLUDES(mu_);
  const Dispatcher& dispatcher() const { return dispatcher_; }

 private:
  StoreConsumer(log::ConsumerOffsets& offsets, DeliveryHandler handler, StoreConsumerOptions options, Position from,
                Position head);
  Status Deliver(std::span<const RecordedEvent> batch) EXCLUDES(mu_);
  void CommitLoop() EXCLUDES(mu_);

  log::ConsumerOffsets& offsets_;
  const StoreConsumerOptions options_;
  const Position started_at_;
  const Position head_at_start_;  // events after it are first deliveries
  Dispatcher dispatcher_;

  mutable Mutex mu_;
  CondVar stop_cv_;                                        // stopping_ set
  mutable OffsetLedger<Position> ledger_ GUARDED_BY(mu_);  // recorded by the subscription thread
  mutable Position settled_ GUARDED_BY(mu_);               // the last position the ledger settled
  Status commit_error_ GUARDED_BY(mu_);                    // the last commit's, cleared by a good one
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unique_ptr<Subscription> subscription_ GUARDED_BY(mu_);

  // Started by Start(), joined by Stop().
  std::thread committer_;
};

}  // namespace cqrs::consumer
