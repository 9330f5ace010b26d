// Runner: what a service needs from the live runner of a read model, whichever database holds
// it (SQLite: ProjectionRunner; PostgreSQL: PgProjectionRunner).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs::projection {

// A stream whose events the read model could not apply, set aside in order (see projection.h).
struct ParkedStream {
  std::string stream;
  Position first_position;
  std::string error;
  std::int64_t events = 0;
};

class Runner {
 public:
  virtual ~Runner() = default;
  // Stops applying events (waits for the batch in flight). position() stays where it got to.
  virtual void Stop() = 0;
  // Last position whose effects readers of the read model can see.
  virtual Position position() const = 0;
  // Waits until position() >= p or the deadline passes; returns whether it got there.
  virtual bool WaitFor(Position p, std::chrono::steady_clock::time_point deadline) const = 0;
  // The same wait without a thread: calls `done(true)` once position() >= p, or `done(false)`
  // when the deadline passes (or the runner is destroyed) first — exactly once, never on the
  // calling thread (see PositionWaiters). kUnavailable, and `done` is never called, when the
  // runner's bound of waiting reads is reached: the caller sheds the request.
  virtual Status NotifyAt(Position p, std::chrono::steady_clock::time_point deadline,
                          std::function<void(bool reached)> done) = 0;
  // Ok, or what keeps the read model from advancing.
  virtual Status status() const = 0;
  virtual Result<std::vector<ParkedStream>> ListParked() = 0;
  // Re-applies a parked stream's events in order; unparks it if they all succeed.
  virtual Status ReplayParked(std::string_view stream) = 0;
};

}  // namespace cqrs::projection
