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
  Position Head() const final { return head_; }
  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point) const final { return p <= head_; }
  Result<std::unique_ptr<Subscription>> Subscribe(Position, std::size_t, EventBatchHandler) final {
    return InvalidArgument("a view of the log's past does not grow: it has no subscriptions");
  }

 protected:
  const Position head_;

 private:
  static Status ReadOnly() { return InvalidArgument("a view of the log's past is read-only: nothing can be appended"); }
};

}  // namespace cqrs
