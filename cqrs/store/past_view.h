// PastView: what the read-only views of the log's past share (log_snapshot_store.h,
// log_prefix_store.h): a fixed head, and appends and subscriptions refused with kInvalidArgument,
// since nothing is ever written through the past and it does not grow.
#pragma once

#include "cqrs/store/event_store.h"

namespace cqrs {

class PastView : public EventStore {
 public:
  explicit PastView(Position head) : head_(head) {}

  Result<AppendResult> Append(std::string_view, ExpectedVersion, std::span<const EventData>) final {
    return ReadOnly();
  }
  void AppendAsync(std::string_view, ExpectedVersion, std::span<const EventData>,
                   std::function<void(Result<AppendResult>)> done) final {
    done(ReadOnly());
  }
  Result<MultiAppendResult> AppendToStreams(std::span<const StreamAppend>,
                                            const std::optional<AppendCondition>&) final {
    return ReadOnly();
  }
  // The events of `query` by a walk over the view (it is not indexed): a view of the past serves
  // rebuilds and point-in-time reads, not decisions.
  Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const override {
    RETURN_IF_ERROR(ValidateQuery(query));
    if (max == 0) return InvalidArgument("max: must be > 0");
    QueryResult out;
    out.head = head_;
    constexpr std::size_t kPage = 4096;
    for (Position next = after.next(); next <= head_;) {
      ASSIGN_OR_RETURN(std::vector<RecordedEvent> page, ReadAll(next, kPage));
      if (page.empty()) break;
      for (RecordedEvent& e : page) {
        if (!Matches(query, e.type, e.tags)) continue;
        out.events.push_back(std::move(e));
        if (out.events.size() == max) {
          out.head = out.events.back().position;
          return out;
        }
      }
      next = page.back().position.next();
    }
    return out;
  }
  Position Head() const final { return head_; }
  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point) const final { return p <= head_; }
  Result<std::unique_ptr<Subscription>> Subscribe(Position, std::size_t, EventBatchHandler) final {
    return InvalidArgument("a view of the log's past does not grow: it has no subscriptions");
  }
  Result<std::unique_ptr<Subscription>> SubscribeToQuery(Query, Position, std::size_t, EventBatchHandler) final {
    return InvalidArgument("a view of the log's past does not grow: it has no subscriptions");
  }

 protected:
  const Position head_;

 private:
  static Status ReadOnly() { return InvalidArgument("a view of the log's past is read-only: nothing can be appended"); }
};

}  // namespace cqrs
