#include "cqrs/store/polling_subscription.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"

namespace cqrs {

namespace {

// Thread-safety: status() from any thread; everything else runs on the subscription's thread.
class PollingSubscription final : public Subscription {
 public:
  PollingSubscription(const EventStore& store, Position from, std::size_t max_batch, EventBatchHandler handler,
                      bool retry_unavailable)
      : store_(store),
        next_(from),
        max_batch_(max_batch),
        handler_(std::move(handler)),
        retry_unavailable_(retry_unavailable) {
    thread_ = std::thread([this] {
      NameThisThread("subscription");
      Run();
    });
  }
  ~PollingSubscription() override {
    stop_.store(true);
    thread_.join();
  }
  Status status() const override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return status_;
  }

 private:
  void Run() EXCLUDES(mu_) {
    // Bounds how long destruction waits for an idle subscription to notice the stop flag.
    constexpr auto kStopCheck = std::chrono::milliseconds(50);
    auto backoff = std::chrono::milliseconds(50);
    while (!stop_.load()) {
      auto batch = store_.ReadAll(next_, max_batch_);
      if (!batch.ok()) {
        if (!retry_unavailable_ || batch.status().code() != StatusCode::kUnavailable) return Fail(batch.status());
        SetStatus(batch.status());  // visible while it lasts; cleared by the next good read
        for (auto until = std::chrono::steady_clock::now() + backoff;
             !stop_.load() && std::chrono::steady_clock::now() < until;) {
          std::this_thread::sleep_for(kStopCheck);
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      backoff = std::chrono::milliseconds(50);
      if (retry_unavailable_) SetStatus(Status::Ok());
      if (batch->empty()) {
        store_.WaitForPosition(next_, std::chrono::steady_clock::now() + kStopCheck);
        continue;
      }
      Status st = handler_(*batch);
      if (!st.ok()) return Fail(st);
      next_ = batch->back().position.next();
    }
  }
  void Fail(Status st) EXCLUDES(mu_) { SetStatus(std::move(st)); }
  void SetStatus(Status st) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    status_ = std::move(st);
  }

  const EventStore& store_;  // outlives the subscription (documented in EventStore::Subscribe)
  Position next_;            // the subscription thread's
  const std::size_t max_batch_;
  EventBatchHandler handler_;
  const bool retry_unavailable_;
  std::atomic<bool> stop_{false};

  mutable Mutex mu_;
  Status status_ GUARDED_BY(mu_);

  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> StartPollingSubscription(const EventStore& store, Position from,
                                                               std::size_t max_batch, EventBatchHandler handler,
                                                               bool retry_unavailable) {
  if (max_batch == 0) return InvalidArgument("max_batch: must be > 0");
  if (from.value() == 0) from = Position(1);
  return std::unique_ptr<Subscription>(
      std::make_unique<PollingSubscription>(store, from, max_batch, std::move(handler), retry_unavailable));
}

}  // namespace cqrs
