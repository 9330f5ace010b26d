#include "cqrs/store/append_checks.h"

#include <algorithm>
#include <unordered_set>

namespace cqrs {

namespace {

Status ValidateTags(const EventData& e) {
  if (e.tags.size() > kMaxTagsPerEvent) {
    return InvalidArgument("tags: event " + e.event_id.ToString() + " has more than " +
                           std::to_string(kMaxTagsPerEvent) + " tags");
  }
  for (std::size_t i = 0; i < e.tags.size(); ++i) {
    RETURN_IF_ERROR(ValidateTag(e.tags[i]));
    if (std::find(e.tags.begin(), e.tags.begin() + static_cast<std::ptrdiff_t>(i), e.tags[i]) !=
        e.tags.begin() + static_cast<std::ptrdiff_t>(i)) {
      return InvalidArgument("tags: " + e.tags[i] + " appears twice on one event");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateEvents(std::span<const EventData> events) {
  if (events.empty()) return InvalidArgument("events: at least one event is required");
  std::unordered_set<Uuid> ids;
  for (const EventData& e : events) {
    if (e.event_id.is_nil()) return InvalidArgument("event_id: must not be nil");
    if (!ids.insert(e.event_id).second) {
      return InvalidArgument("event_id: " + e.event_id.ToString() + " appears twice in one append");
    }
    RETURN_IF_ERROR(ValidateTags(e));
  }
  return Status::Ok();
}

Status ValidateStreamAppends(std::span<const StreamAppend> appends) {
  if (appends.empty()) return InvalidArgument("streams: at least one stream is required");
  if (appends.size() > kMaxStreamsPerAppend) {
    return InvalidArgument("streams: more than " + std::to_string(kMaxStreamsPerAppend) + " in one append");
  }
  std::unordered_set<std::string_view> streams;
  std::unordered_set<Uuid> ids;
  for (const StreamAppend& a : appends) {
    if (a.stream.empty()) return InvalidArgument("stream: must not be empty");
    if (!streams.insert(a.stream).second) {
      return InvalidArgument("stream: " + std::string(a.stream) + " appears twice in one append");
    }
    RETURN_IF_ERROR(ValidateEvents(a.events));
    for (const EventData& e : a.events) {
      if (!ids.insert(e.event_id).second) {
        return InvalidArgument("event_id: " + e.event_id.ToString() + " appears twice in one append");
      }
    }
  }
  return Status::Ok();
}

Status ValidateCondition(const std::optional<AppendCondition>& condition, Position head) {
  if (!condition) return Status::Ok();
  RETURN_IF_ERROR(ValidateQuery(condition->query));
  if (condition->after > head) {
    return InvalidArgument("condition: position " + std::to_string(condition->after.value()) + " is past the head (" +
                           std::to_string(head.value()) + ")");
  }
  return Status::Ok();
}

}  // namespace cqrs
