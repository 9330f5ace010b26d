// Read-your-writes waits on the live read model, holding no thread meanwhile.
//
// A wait registers a callback with the read side's runner (Runner::NotifyAt) and is answered
// from the runner's waiter thread. A rebuild replaces the runner and drops its waits; these
// functions then wait on the new runner for the time left.
#pragma once

#include <chrono>
#include <functional>

#include "ads/read/read_side.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace adsd::ads {

using WaitClock = std::chrono::steady_clock;

// Calls `answer` once the read model reaches `p` or `deadline` passes. Calls `shed` instead (and
// never `answer`) when too many reads wait already. `read_side` must outlive the wait.
void WaitForPosition(const ReadSide& read_side, cqrs::Position p, WaitClock::time_point deadline,
                     std::function<void(const cqrs::Status&)> shed, std::function<void()> answer);

// Calls `answer` once `visible()` holds, asked again each time the read model moves on, or once
// `deadline` passes; `shed` as above.
void WaitUntil(const ReadSide& read_side, std::function<bool()> visible, WaitClock::time_point deadline,
               std::function<void(const cqrs::Status&)> shed, std::function<void()> answer);

}  // namespace adsd::ads
