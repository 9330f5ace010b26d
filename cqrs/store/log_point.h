// LogPoint: a past moment of the log, for read-only views of a prefix of it (an audit's read
// model as it stood then, a restore to a point): a position, or a time — the last event recorded
// at or before it, taking events in log order up to the first one recorded after it. Neither:
// the log's end.
#pragma once

#include <optional>

#include "cqrs/core/types.h"

namespace cqrs {

struct LogPoint {
  std::optional<Position> position;
  std::optional<TimestampUs> time;
};

}  // namespace cqrs
