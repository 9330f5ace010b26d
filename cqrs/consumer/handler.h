// The one handler signature of every consumer (cqrs::consumer::StoreConsumer on the event store,
// cqrs::kafka::BusConsumer on a Kafka consumer group), and the one retry policy they share.
//
// A handler gets one event and a completion. It calls the completion exactly once, from any
// thread, when the event's effect is settled:
// - Ok: the effect is durable (or there was nothing to do). The event counts for the watermark.
// - kUnavailable (a dependency is down, a connection dropped): transient. The consumer calls the
//   handler again with the same event after a capped exponential backoff, until it succeeds or
//   the consumer stops; the event's key stays owned meanwhile, so later events of its stream wait.
// - Anything else: permanent. The consumer stops at that event (status() reports the error,
//   nothing more is taken from the source, the event is never committed): a restart after the
//   cause is fixed redoes it. Skipping would lose an effect silently; parking belongs to
//   read models, whose events can be replayed by hand (cqrs/projection).
//
// The completion may run on a store's callback thread: handlers and completions must not block
// there. Because a handler may return before its effect is durable, the lane thread goes on with
// other streams while a commit is in flight, and many events' effects share one group commit.
// At-least-once delivery: after a crash the events in flight are handled again, so effects must
// be idempotent.
#pragma once

#include <chrono>
#include <functional>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace cqrs::consumer {

// Settles one handler call. Copyable; only the first call counts.
using Completion = std::function<void(Status)>;
// The event stays valid until the completion is called.
using Handler = std::function<void(const RecordedEvent& event, Completion done)>;
// Whether the event may have reached a handler before. kFirst is a promise by the consumer: no
// handler of its group has been given this event (not this process, not an earlier owner of its
// offsets, not a failed attempt), so a handler may skip a "was this already done?" read. Anything
// the consumer cannot rule out is kMaybeRepeated: events past the committed offset that existed
// when the consumer took over (an earlier owner may have handled them without committing), and
// every retry (a failed attempt may still have had its effect).
enum class Delivery { kFirst, kMaybeRepeated };
// A handler that is told which delivery it gets.
using DeliveryHandler = std::function<void(const RecordedEvent& event, Delivery delivery, Completion done)>;

// Which events a consumer hands to its handler; the others are done at once, without a lane.
using Filter = std::function<bool(const RecordedEvent& event)>;

// A handler that settles before it returns.
Handler Synchronous(std::function<Status(const RecordedEvent&)> handle);

// Transient errors are retried: kUnavailable.
bool IsTransient(const Status& st);

struct RetryPolicy {
  std::chrono::milliseconds first{100};  // the pause before the first retry
  std::chrono::milliseconds max{2000};   // pauses double up to this
};

}  // namespace cqrs::consumer
