#include "cqrs/store/polling_subscription.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"

namespace cqrs {

namespace {

// One read of what the subscription follows: the events from a position on, and how far the read
// looked (the last event's position, or further when the query skipped events).
struct Page {
  std::vector<RecordedEvent> events;
  Position scanned_to;
};
using PageReader = std::function<Result<Page>(const EventStore&, Position from, std::size_t max)>;

Result<Page> ReadAllPage(const EventStore& store, Position from, std::size_t max) {
  ASSIGN_OR_RETURN(std::vector<RecordedEvent> events, store.ReadAll(from, max));
  Page page;
  page.scanned_to = events.empty() ? Position(from.value() - 1) : events.back().position;
  page.events = std::move(events);
  return page;
}

// Thread-safety: status() from any thread; everything else runs on the subscription's thread.
class PollingSubscription final : public Subscription {
 public:
  PollingSubscription(const EventStore& store, PageReader read, Position from, std::size_t max_batch,
                      EventBatchHandler handler, bool retry_unavailable)
      : store_(store),
        read_(std::move(read)),
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
      auto batch = read_(store_, next_, max_batch_);
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
      if (batch->events.empty()) {
        next_ = std::max(next_, batch->scanned_to.next());
        store_.WaitForPosition(next_, std::chrono::steady_clock::now() + kStopCheck);
        continue;
      }
      Status st = handler_(batch->events);
      if (!st.ok()) return Fail(st);
      next_ = batch->scanned_to.next();
    }
  }
  void Fail(Status st) EXCLUDES(mu_) { SetStatus(std::move(st)); }
  void SetStatus(Status st) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    status_ = std::move(st);
  }

  const EventStore& store_;  // outlives the subscription (documented in EventStore::Subscribe)
  const PageReader read_;
  Position next_;  // the subscription thread's
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
  return std::unique_ptr<Subscription>(std::make_unique<PollingSubscription>(store, ReadAllPage, from, max_batch,
                                                                             std::move(handler), retry_unavailable));
}

Result<std::unique_ptr<Subscription>> StartQuerySubscription(const EventStore& store, Query query, Position from,
                                                             std::size_t max_batch, EventBatchHandler handler,
                                                             bool retry_unavailable) {
  if (max_batch == 0) return InvalidArgument("max_batch: must be > 0");
  RETURN_IF_ERROR(ValidateQuery(query));
  if (from.value() == 0) from = Position(1);
  PageReader read = [query = std::move(query)](const EventStore& s, Position at, std::size_t max) -> Result<Page> {
    ASSIGN_OR_RETURN(QueryResult r, s.Read(query, Position(at.value() - 1), max));
    return Page{std::move(r.events), r.head};
  };
  return std::unique_ptr<Subscription>(std::make_unique<PollingSubscription>(store, std::move(read), from, max_batch,
                                                                             std::move(handler), retry_unavailable));
}

}  // namespace cqrs
