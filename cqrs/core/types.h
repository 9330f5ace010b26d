// The engine's fundamental value types.
#pragma once

#include <chrono>
#include <cstdint>

#include "cqrs/core/strong_int.h"

namespace cqrs {

// Global position of an event in the log: 1 for the first event, gapless and strictly increasing.
// 0 means "before the first event" (an empty log's head, a checkpoint that has seen nothing).
using Position = StrongInt<struct PositionTag>;

// Version of a stream = number of events in it. The first event of a stream has version 1;
// a stream that does not exist is at version 0.
using StreamVersion = StrongInt<struct StreamVersionTag>;

// Microseconds since the Unix epoch, UTC.
using TimestampUs = std::int64_t;

// The wall clock now, as a TimestampUs.
inline TimestampUs NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cqrs
