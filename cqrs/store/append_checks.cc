#include "cqrs/store/append_checks.h"

#include <unordered_set>

namespace cqrs {

Status ValidateEvents(std::span<const EventData> events) {
  if (events.empty()) return InvalidArgument("events: at least one event is required");
  std::unordered_set<Uuid> ids;
  for (const EventData& e : events) {
    if (e.event_id.is_nil()) return InvalidArgument("event_id: must not be nil");
    if (!ids.insert(e.event_id).second) {
      return InvalidArgument("event_id: " + e.event_id.ToString() + " appears twice in one append");
    }
  }
  return Status::Ok();
}

}  // namespace cqrs
