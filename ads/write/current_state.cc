#include "ads/write/current_state.h"

#include <algorithm>

namespace adsd::ads {

namespace {

bool IsContent(const cqrs::RecordedEvent& e) { return e.type == events::kSubmitted || e.type == events::kChanged; }

// A stream ends with its last content event, then at most its verdict (appended at exactly the
// version after it) and a withdrawal (after which nothing is appended): the content is almost
// always within this many events of the end. Older content is found by reading back further.
constexpr std::uint64_t kTail = 4;
constexpr std::size_t kPage = 256;

}  // namespace

cqrs::Result<std::optional<CurrentAd>> LoadCurrentAd(const cqrs::EventStore& store, const std::string& stream) {
  ASSIGN_OR_RETURN(const cqrs::StreamVersion at, store.GetStreamVersion(stream));
  if (at.value() == 0) return std::optional<CurrentAd>();
  CurrentAd current;
  std::optional<cqrs::RecordedEvent> content;
  // From the tail to the end, including whatever was appended since the version was read.
  std::uint64_t from = at.value() > kTail ? at.value() - kTail + 1 : 1;
  for (std::uint64_t next = from;;) {
    ASSIGN_OR_RETURN(auto page, store.ReadStream(stream, cqrs::StreamVersion(next), kPage));
    for (auto& e : page) {
      if (IsContent(e)) content = std::move(e);
      if (e.type == events::kWithdrawn) current.withdrawn = true;
      current.version = e.version;
    }
    if (page.size() < kPage) break;
    next = current.version.value() + 1;
  }
  // Rare: a tail without content. Read back in growing windows to the last content event.
  for (std::uint64_t window = kTail * 4; !content && from > 1; window *= 4) {
    const std::uint64_t until = from;  // exclusive
    from = until > window ? until - window : 1;
    ASSIGN_OR_RETURN(auto older, store.ReadStream(stream, cqrs::StreamVersion(from), until - from));
    for (auto& e : older) {
      if (IsContent(e)) content = std::move(e);
      if (e.type == events::kWithdrawn) current.withdrawn = true;
    }
  }
  if (!content) return cqrs::Internal("stream " + stream + " has no AdSubmitted or AdChanged event");
  ASSIGN_OR_RETURN(current.content, events::ParseContent(content->payload));
  return std::optional<CurrentAd>(std::move(current));
}

}  // namespace adsd::ads
