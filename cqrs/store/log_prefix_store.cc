#include "cqrs/store/log_prefix_store.h"

#include <algorithm>

#include "cqrs/store/past_view.h"

namespace cqrs {

namespace {

class LogPrefixStore final : public PastView {
 public:
  LogPrefixStore(const EventStore& inner, Position head) : PastView(head), inner_(inner) {}

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override {
    ASSIGN_OR_RETURN(auto events, inner_.ReadStream(stream, from, max));
    std::erase_if(events, [this](const RecordedEvent& e) { return e.position > head_; });
    return events;
  }

  Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const override {
    if (from > head_) return std::vector<RecordedEvent>{};
    const std::uint64_t left = head_.value() - std::max<std::uint64_t>(from.value(), 1) + 1;
    return inner_.ReadAll(from, static_cast<std::size_t>(std::min<std::uint64_t>(max, left)));
  }

  Result<StreamVersion> GetStreamVersion(std::string_view stream) const override {
    // The stream's last version at or before the head: its events in pages.
    StreamVersion version(0);
    constexpr std::size_t kPage = 1000;
    while (true) {
      ASSIGN_OR_RETURN(auto page, inner_.ReadStream(stream, version.next(), kPage));
      for (const RecordedEvent& e : page) {
        if (e.position > head_) return version;
        version = e.version;
      }
      if (page.size() < kPage) return version;
    }
  }

  // The inner store's index, cut at the head.
  Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const override {
    ASSIGN_OR_RETURN(QueryResult r, inner_.Read(query, after, max));
    std::erase_if(r.events, [this](const RecordedEvent& e) { return e.position > head_; });
    r.head = std::min(r.head, head_);
    return r;
  }

  Status Health() const override { return inner_.Health(); }

 private:
  const EventStore& inner_;
};

// The last position recorded at or before `t`, reading from the start up to the first event after it.
Result<Position> LastAtOrBefore(const EventStore& store, TimestampUs t) {
  Position last(0);
  constexpr std::size_t kPage = 4096;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ReadAll(last.next(), kPage));
    for (const RecordedEvent& e : page) {
      if (e.timestamp_us > t) return last;
      last = e.position;
    }
    if (page.size() < kPage) return last;
  }
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenLogPrefix(const EventStore& inner, const LogPoint& until) {
  const Position head = inner.Head();
  Position at = head;
  if (until.position) {
    if (*until.position > head) {
      return InvalidArgument("position " + std::to_string(until.position->value()) + " is past the log's end (" +
                             std::to_string(head.value()) + ")");
    }
    at = *until.position;
  } else if (until.time) {
    ASSIGN_OR_RETURN(at, LastAtOrBefore(inner, *until.time));
  }
  return std::unique_ptr<EventStore>(new LogPrefixStore(inner, at));
}

}  // namespace cqrs
