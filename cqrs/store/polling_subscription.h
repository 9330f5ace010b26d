// A Subscription that any EventStore can offer: a thread that reads the global order with
// ReadAll() (or the events matching a query with Read(query)) from a position on and waits with WaitForPosition() when
// it has caught up.
//
// Errors: a handler error stops delivery (status() says why). A read error stops it too, unless
// it is kUnavailable and `retry_unavailable` is set (a store behind a network: the database
// restarts, the subscription waits and carries on from where it was).
#pragma once

#include <memory>

#include "cqrs/store/event_store.h"

namespace cqrs {

Result<std::unique_ptr<Subscription>> StartPollingSubscription(const EventStore& store, Position from,
                                                               std::size_t max_batch, EventBatchHandler handler,
                                                               bool retry_unavailable = false);

// The same, following only the events that match `query` (EventStore::Read(query, ...)): a read that
// finds nothing still moves on to the head it looked up to.
Result<std::unique_ptr<Subscription>> StartQuerySubscription(const EventStore& store, Query query, Position from,
                                                             std::size_t max_batch, EventBatchHandler handler,
                                                             bool retry_unavailable = false);

}  // namespace cqrs
