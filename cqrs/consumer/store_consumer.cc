#include "cqrs/consumer/store_consumer.h"

#include <algorithm>

#include "cqrs/core/thread_name.h"

namespace cqrs::consumer {

StoreConsumer::StoreConsumer(log::ConsumerOffsets& offsets, DeliveryHandler handler, StoreConsumerOptions options,
                             Position from, Position head)
    : offsets_(offsets),
      options_(std::move(options)),
      started_at_(from),
      head_at_start_(head),
      dispatcher_(std::move(handler), options_.dispatch),
      settled_(from) {}

Result<std::unique_ptr<StoreConsumer>> StoreConsumer::Start(EventStore& store, log::ConsumerOffsets& offsets,
                                                            Handler handler, StoreConsumerOptions options) {
  return Start(store, offsets,
               DeliveryHandler([handler = std::move(handler)](const RecordedEvent& e, Delivery, Completion done) {
                 handler(e, std::move(done));
               }),
               std::move(options));
}

Result<std::unique_ptr<StoreConsumer>> StoreConsumer::Start(EventStore& store, log::ConsumerOffsets& offsets,
                                                            DeliveryHandler handler, StoreConsumerOptions options) {
  const Position from = offsets.Load(options.group);
  // Read after the offset: whatever an earlier run may have handled is at or below this head.
  const Position head = store.Head();
  std::unique_ptr<StoreConsumer> c(
      new StoreConsumer(offsets, std::move(handler), std::move(options), from, std::max(from, head)));
  c->committer_ = std::thread([p = c.get()] {
    NameThisThread("offset-commit");
    p->CommitLoop();
  });
  auto sub = store.Subscribe(from.next(), c->options_.max_batch,
                             [p = c.get()](std::span<const RecordedEvent> batch) { return p->Deliver(batch); });
  if (!sub.ok()) {
    c->Stop();
    return sub.status();
  }
  MutexLock lock(c->mu_);
  c->subscription_ = std::move(*sub);
  return c;
}

StoreConsumer::~StoreConsumer() { Stop(); }

void StoreConsumer::Stop() {
  dispatcher_.Stop();  // first: releases a delivery waiting for room, so the subscription can end
  std::unique_ptr<Subscription> sub;
  {
    MutexLock lock(mu_);
    sub = std::move(subscription_);
    stopping_ = true;
  }
  sub.reset();
  stop_cv_.SignalAll();
  if (committer_.joinable()) committer_.join();  // its last round commits what is settled
}

Status StoreConsumer::Deliver(std::span<const RecordedEvent> batch) {
  for (const RecordedEvent& e : batch) {
    const std::optional<Ticket> ticket =
        dispatcher_.Dispatch(e, e.position > head_at_start_ ? Delivery::kFirst : Delivery::kMaybeRepeated);
    if (!ticket) {
      Status st = dispatcher_.status();
      return st.ok() ? Unavailable("consumer " + options_.group + " stopping") : st;
    }
    MutexLock lock(mu_);
    ledger_.Record(*ticket, e.position);
  }
  MutexLock lock(mu_);
  // A commit that cannot be made for good stops delivery: the consumer would redo ever more.
  return commit_error_.ok() || IsTransient(commit_error_) ? Status::Ok() : commit_error_;
}

Position StoreConsumer::position() const {
  const Ticket watermark = dispatcher_.watermark();
  MutexLock lock(mu_);
  ledger_.Settle(watermark, [&](Position p) {
    mu_.AssertHeld();  // Settle() calls back synchronously, under the lock taken above
    settled_ = p;
  });
  return std::max(started_at_, settled_);
}

Status StoreConsumer::status() const {
  if (Status st = dispatcher_.status(); !st.ok()) return st;
  {
    MutexLock lock(mu_);
    if (!commit_error_.ok()) return commit_error_;
    if (subscription_) return subscription_->status();
  }
  return Status::Ok();
}

void StoreConsumer::CommitLoop() {
  Position committed = started_at_;
  MutexLock lock(mu_);
  while (true) {
    const auto deadline = CondVar::Clock::now() + options_.commit_every;
    while (!stopping_) {
      if (!stop_cv_.WaitUntil(mu_, deadline)) break;
    }
    const bool last = stopping_;
    lock.Unlock();
    const Position at = position();
    Status st = at > committed ? offsets_.Commit(options_.group, at) : Status::Ok();
    if (st.ok()) committed = std::max(committed, at);
    lock.Lock();
    commit_error_ = std::move(st);
    if (last) return;
  }
}

}  // namespace cqrs::consumer
