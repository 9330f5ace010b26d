#include "cqrs/consumer/dispatcher.h"

#include <algorithm>

namespace cqrs::consumer {

// One event on its way through the handler, across its retries.
struct Dispatcher::Call {
  Ticket ticket;
  RecordedEvent event;
  Delivery delivery;                // kMaybeRepeated from the first retry on
  std::chrono::milliseconds pause;  // before the next retry; only the call's current attempt touches it
};

Handler Synchronous(std::function<Status(const RecordedEvent&)> handle) {
  return [handle = std::move(handle)](const RecordedEvent& e, Completion done) { done(handle(e)); };
}

bool IsTransient(const Status& st) { return st.code() == StatusCode::kUnavailable; }

Dispatcher::Dispatcher(Handler handler, DispatcherOptions options)
    : Dispatcher(DeliveryHandler([handler = std::move(handler)](const RecordedEvent& e, Delivery, Completion done) {
                   handler(e, std::move(done));
                 }),
                 std::move(options)) {}

Dispatcher::Dispatcher(DeliveryHandler handler, DispatcherOptions options)
    : handler_(std::move(handler)), options_(std::move(options)), lanes_(options_.lanes, options_.max_in_flight) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  lanes_.Stop();  // no new calls start; a source waiting for room is released
  MutexLock lock(mu_);
  while (calling_ != 0) idle_.Wait(mu_);
}

std::size_t Dispatcher::calling() const {
  MutexLock lock(mu_);
  return calling_;
}

Status Dispatcher::status() const {
  MutexLock lock(mu_);
  return failure_;
}

bool Dispatcher::Accepting() const {
  MutexLock lock(mu_);
  return !stopping_ && failure_.ok();
}

std::optional<Ticket> Dispatcher::Dispatch(const RecordedEvent& event, Delivery delivery) {
  if (options_.filter && !options_.filter(event)) return Skip();  // no copy of an ignored event
  return Queue(event, delivery);
}

std::optional<Ticket> Dispatcher::Dispatch(RecordedEvent&& event, Delivery delivery) {
  if (options_.filter && !options_.filter(event)) return Skip();
  return Queue(std::move(event), delivery);
}

std::optional<Ticket> Dispatcher::Queue(RecordedEvent event, Delivery delivery) {
  if (!Accepting()) return std::nullopt;
  const Ticket ticket(++next_ticket_);
  auto call = std::make_shared<Call>(Call{ticket, std::move(event), delivery, options_.retry.first});
  const std::string_view key = call->event.stream;  // lives in `call`, which the work keeps
  if (!lanes_.Dispatch(ticket, key, [this, call] { Run(call); })) return std::nullopt;
  return ticket;
}

std::optional<Ticket> Dispatcher::Skip() {
  if (!Accepting()) return std::nullopt;
  const Ticket ticket(++next_ticket_);
  return lanes_.Skip(ticket) ? std::optional<Ticket>(ticket) : std::nullopt;
}

void Dispatcher::Run(const std::shared_ptr<Call>& call) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;  // left undone: redelivered after a restart
    ++calling_;
  }
  auto settled = std::make_shared<std::atomic<bool>>(false);
  handler_(call->event, call->delivery, [this, call, settled](Status st) {
    if (settled->exchange(true)) return;  // a second completion of the same call
    Finish(call, std::move(st));
  });
}

void Dispatcher::Finish(const std::shared_ptr<Call>& call, Status st) {
  if (st.ok()) {
    handled_.fetch_add(1);
    lanes_.Done(call->ticket);
  } else if (IsTransient(st)) {
    bool stopping;
    {
      MutexLock lock(mu_);
      stopping = stopping_;
    }
    if (!stopping) {  // stopping: left undone, redelivered after a restart
      retries_.fetch_add(1);
      call->delivery = Delivery::kMaybeRepeated;  // the failed attempt may have had its effect
      const auto pause = call->pause;
      call->pause = std::min(call->pause * 2, options_.retry.max);
      lanes_.Retry(call->ticket, KeyedLanes::Clock::now() + pause, [this, call] { Run(call); });
    }
  } else {
    MutexLock lock(mu_);
    if (failure_.ok()) failure_ = std::move(st);
  }
  // Last: once calling_ reaches 0 under the lock, Stop() may return and the dispatcher go.
  MutexLock lock(mu_);
  --calling_;
  idle_.SignalAll();
}

}  // namespace cqrs::consumer
