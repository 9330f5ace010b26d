// Checks every backend applies to an append before it touches storage.
#pragma once

#include <span>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace cqrs {

// At least one event, no nil id, no id twice in one append.
Status ValidateEvents(std::span<const EventData> events);

}  // namespace cqrs
