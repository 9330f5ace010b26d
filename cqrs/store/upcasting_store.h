// Upcasters: events written under an old schema are rewritten to the current one as they are
// read, so that the code that folds, projects or consumes them knows only the current shape. The
// stored events never change (the log is immutable and hash-chained).
//
// An upcaster is keyed by (event type, schema version) and turns such an event into the next
// schema: it must raise `schema_version` (and may change `type`, `payload`, `metadata`). Upcasters
// chain: a v1 event goes through v1->v2, then v2->v3, until no upcaster matches.
//
// WithUpcasters wraps any EventStore: ReadStream, ReadAll and Subscribe return upcast events;
// appends, versions and positions pass through unchanged. An upcaster that fails (or does not
// raise the schema version) fails the read with its error: a reader never sees half-upcast data.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cqrs/store/event_store.h"

namespace cqrs {

class Upcasters {
 public:
  // Rewrites an event of type `type` at `schema_version` in place into a later schema.
  using Upcast = std::function<Status(RecordedEvent& event)>;

  // Registers the upcaster of (type, schema_version); a second one for the same key replaces it.
  Upcasters& Add(std::string type, std::uint32_t schema_version, Upcast upcast);

  // Applies the chain of upcasters that matches `event`, until none does.
  Status Apply(RecordedEvent& event) const;
  bool empty() const { return by_key_.empty(); }

 private:
  std::map<std::pair<std::string, std::uint32_t>, Upcast, std::less<>> by_key_;
};

// `inner` with `upcasters` applied on every read (see above). Thread-safe as `inner` is.
std::unique_ptr<EventStore> WithUpcasters(std::unique_ptr<EventStore> inner, Upcasters upcasters);

}  // namespace cqrs
