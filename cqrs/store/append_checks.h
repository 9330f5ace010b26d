// Checks every backend applies to an append before it touches storage.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"
#include "cqrs/store/event_store.h"
#include "cqrs/store/query.h"

namespace cqrs {

// At least one event, no nil id, no id twice in one append, tags within the limits of query.h
// (none twice on one event).
Status ValidateEvents(std::span<const EventData> events);

// 1..kMaxStreamsPerAppend streams, none named twice or empty, each part valid as above, and no
// event id twice across the whole append.
Status ValidateStreamAppends(std::span<const StreamAppend> appends);

// A valid query, and `after` not past `head` (the store's head when the append began).
Status ValidateCondition(const std::optional<AppendCondition>& condition, Position head);

}  // namespace cqrs
