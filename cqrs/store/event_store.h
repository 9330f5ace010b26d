// EventStore: streams of events with optimistic concurrency over one global order.
//
// The contract every backend keeps (embedded log, PostgreSQL):
// - Append(stream, expected, events) is atomic: all events or none, at consecutive stream versions
//   and increasing global positions. It returns only once the events are durable.
// - A failed precondition is kVersionConflict and changes nothing.
// - Re-appending events whose ids are already in the stream, at the same place, returns the
//   original result (same versions and positions, `idempotent_replay`, and the first event's
//   stored timestamp and metadata in `original`) and writes nothing: a retried request is safe.
//   The same ids with a different count or order is kAlreadyExists.
// - Readers see only durable events, in position order; no event is ever skipped.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/store/event.h"
#include "cqrs/store/expected_version.h"

namespace cqrs {

struct AppendResult {
  StreamVersion first_version;  // version of the first event appended
  StreamVersion last_version;   // the stream's version after the append
  Position first_position;
  Position last_position;
  bool idempotent_replay = false;  // true when the events were already there (nothing written)
  // On an idempotent replay: the first event as the original append stored it. The retry carries
  // its own copy of the event, which may differ (a client reusing an idempotency key for another
  // request); with this the caller can tell without reading the stream again.
  struct Original {
    TimestampUs timestamp_us = 0;
    std::string metadata;
  };
  std::optional<Original> original;
};

// A live subscription; destroying it stops delivery (waits for the handler in flight to return).
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Ok while running; the handler's error or a read error once delivery stopped because of it.
  virtual Status status() const = 0;
};

// Receives events in position order, in batches. Returning a non-ok Status stops the subscription.
using EventBatchHandler = std::function<Status(std::span<const RecordedEvent>)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  virtual Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                                      std::span<const EventData> events) = 0;

  // Same as Append, but returns at once; `done` runs when the outcome is known, on a store thread.
  // `done` must not block.
  virtual void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                           std::function<void(Result<AppendResult>)> done) = 0;

  // Events of `stream` with version >= from, at most `max`. An unknown stream reads as empty.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                        std::size_t max) const = 0;

  // Events with position >= from, at most `max`, in position order.
  virtual Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const = 0;

  // Current version of `stream` (0 if it does not exist), counting durable events only: the
  // version an `exact` append must name. An error (kUnavailable: the store's server does not
  // answer) is never reported as an empty stream.
  virtual Result<StreamVersion> GetStreamVersion(std::string_view stream) const = 0;

  // Last durable position (0 when empty).
  virtual Position Head() const = 0;

  // Waits until Head() >= p or the deadline passes; returns whether it got there.
  virtual bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const = 0;

  // Ok when the store can serve; kUnavailable while its server is unreachable (readiness).
  virtual Status Health() const { return Status::Ok(); }

  // Delivers every event with position >= from, then new ones as they become durable, to
  // `handler` in batches of at most `max_batch`, on a thread owned by the subscription.
  virtual Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                          EventBatchHandler handler) = 0;
};

}  // namespace cqrs
