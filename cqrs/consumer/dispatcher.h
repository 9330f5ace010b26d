// Dispatcher: what every consumer does between its source and its handler, whatever the source.
//
// It gives each event taken from the source a ticket, runs the handler on KeyedLanes (each
// stream's events in order, different streams at once), applies the retry policy of handler.h
// to what the handler reports, and tracks the watermark: the highest ticket at and below which
// every event is settled. A source maps tickets back to its own offsets (OffsetLedger) and
// commits the watermark; it never commits an event whose effect is not durable.
//
// In-flight accounting: in_flight() counts tickets taken but not done (bounded by
// `max_in_flight`: Dispatch() waits for room, which is the source's back-pressure); calling()
// counts handler calls whose completion has not come yet.
//
// Lifecycle: Stop() (or the destructor) stops taking events and retrying, waits for the lane
// threads and for every handler call in flight to complete, and leaves undone events undone (a
// restart redoes them). A handler waiting on something slow must give up when its owner asks it
// to (e.g. ads::ValidationWorker::RequestStop) before the consumer is stopped.
//
// Thread-safety: Dispatch() and Skip() from one thread (the source's); the rest from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "cqrs/consumer/handler.h"
#include "cqrs/consumer/keyed_lanes.h"
#include "cqrs/core/mutex.h"

namespace cqrs::consumer {

struct DispatcherOptions {
  int lanes = 1;                   // handler calls at once
  std::size_t max_in_flight = 64;  // tickets taken but not done before Dispatch() waits
  RetryPolicy retry;
  Filter filter;  // empty: every event goes to the handler
};

class Dispatcher {
 public:
  Dispatcher(Handler handler, DispatcherOptions options);
  Dispatcher(DeliveryHandler handler, DispatcherOptions options);
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Takes the next event from the source: runs the handler on it, or settles it at once if the
  // filter declines it. Its ticket, or nullopt once stopped or failed (the event is not taken).
  // `delivery`: what the source knows (handler.h); a retry is always kMaybeRepeated.
  std::optional<Ticket> Dispatch(const RecordedEvent& event, Delivery delivery = Delivery::kFirst) EXCLUDES(mu_);
  std::optional<Ticket> Dispatch(RecordedEvent&& event, Delivery delivery = Delivery::kFirst) EXCLUDES(mu_);
  // Takes an item that has nothing to handle (a message that is not an event of ours).
  std::optional<Ticket> Skip() EXCLUDES(mu_);

  // Every ticket <= watermark() is settled.
  Ticket watermark() const { return lanes_.watermark(); }
  // Waits until the watermark reaches `t`, or until `deadline` or Stop(); true if it did.
  bool WaitFor(Ticket t, KeyedLanes::Clock::time_point deadline) const { return lanes_.WaitFor(t, deadline); }
  std::size_t in_flight() const { return lanes_.in_flight(); }
  std::size_t calling() const EXCLUDES(mu_);

  // Ok while running; the first permanent error a handler reported.
  Status status() const EXCLUDES(mu_);
  std::uint64_t handled() const { return handled_.load(); }  // events the handler settled Ok
  std::uint64_t retries() const { return retries_.load(); }  // transient errors retried

  void Stop() EXCLUDES(mu_);

 private:
  struct Call;
  bool Accepting() const EXCLUDES(mu_);
  std::optional<Ticket> Queue(RecordedEvent event, Delivery delivery) EXCLUDES(mu_);
  void Run(const std::shared_ptr<Call>& call) EXCLUDES(mu_);
  void Finish(const std::shared_ptr<Call>& call, Status st) EXCLUDES(mu_);

  const DeliveryHandler handler_;
  const DispatcherOptions options_;
  std::uint64_t next_ticket_ = 0;  // source thread only
  std::atomic<std::uint64_t> handled_{0};
  std::atomic<std::uint64_t> retries_{0};

  mutable Mutex mu_;
  CondVar idle_;                    // calling_ dropped
  Status failure_ GUARDED_BY(mu_);  // the first permanent error
  std::size_t calling_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;

  // Last: its threads run Run(), so they stop before the members above go.
  KeyedLanes lanes_;
};

}  // namespace cqrs::consumer
