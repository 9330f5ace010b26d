// OpenLogPrefix: a read-only view of a store's first events, up to a LogPoint, for reading the
// past of a store that keeps serving (a PostgreSQL store's read model as it stood at a point,
// `adsctl rebuild --store URL --to-position P`). The embedded log has its own, lock-free
// equivalent over the files (log_snapshot_store.h).
//
// The point is fixed at open (a time is resolved to a position by reading the log from its start,
// once). Reads never return an event past it; appends and subscriptions are refused with
// kInvalidArgument. Thread-safety: as the underlying store; `inner` must outlive the view.
#pragma once

#include <memory>

#include "cqrs/store/event_store.h"
#include "cqrs/store/log_point.h"

namespace cqrs {

// kInvalidArgument when `until.position` is past the store's head (the message names it).
Result<std::unique_ptr<EventStore>> OpenLogPrefix(const EventStore& inner, const LogPoint& until);

}  // namespace cqrs
