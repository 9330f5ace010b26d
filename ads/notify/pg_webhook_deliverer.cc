#include "ads/notify/pg_webhook_deliverer.h"

#include <set>

#include "ads/events.h"
#include "ads/notify/webhook_fanout.h"
#include "cqrs/core/thread_name.h"
#include "cqrs/core/types.h"
#include "cqrs/pg/advisory_lock.h"

namespace adsd::ads::notify {

using cqrs::NowUs;

cqrs::Result<std::unique_ptr<PgWebhookDeliverer>> PgWebhookDeliverer::Start(const cqrs::EventStore& store,
                                                                            StatusChanges& changes,
                                                                            PgWebhookStore& webhooks,
                                                                            WebhookOptions options,
                                                                            PgDelivererOptions o) {
  std::unique_ptr<PgWebhookDeliverer> d(
      new PgWebhookDeliverer(store, changes, webhooks, std::move(options), std::move(o)));
  d->thread_ = std::thread([p = d.get()] {
    cqrs::NameThisThread("webhook-fanout");
    p->Run();
  });
  return d;
}

void PgWebhookDeliverer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void PgWebhookDeliverer::Run() {
  while (!stop_.load()) {
    if (!leader_.load()) {
      cqrs::Status st = TryLead();
      status_.Set(st);
      if (!st.ok()) conn_.reset();  // a new session next time
      if (!leader_.load()) cqrs::PauseUnlessStopped(stop_, o_.standby_retry);
      continue;
    }
    if (cqrs::Status st = Step(); !st.ok()) {
      // A database failure: the session (and the lock with it) may be gone. Hand over and start
      // again from the committed checkpoint.
      status_.Set(st);
      Resign();
      cqrs::PauseUnlessStopped(stop_, std::chrono::milliseconds(500));
    }
  }
  Resign();
}

cqrs::Status PgWebhookDeliverer::TryLead() {
  if (!conn_ || !conn_->healthy()) {
    conn_.reset();
    ASSIGN_OR_RETURN(conn_, cqrs::pg::Connection::Open(o_.url));
  }
  ASSIGN_OR_RETURN(bool got, cqrs::pg::TryAdvisoryLock(*conn_, cqrs::pg::AdvisoryLockKey("adsd webhooks " + o_.name)));
  // The committed checkpoint is the truth, whoever committed it.
  ASSIGN_OR_RETURN(cqrs::Position at, PgWebhookStore::Checkpoint(*conn_, o_.name));
  position_.store(at.value());
  if (!got) return cqrs::Status::Ok();
  saved_ = at;
  // Registrations, removals and retries asked on any process, as they commit (see Step).
  RETURN_IF_ERROR(conn_->Exec("LISTEN " + std::string(PgWebhookStore::kChangesChannel)));
  lanes_ = std::make_unique<WebhookLanes>(webhooks_, options_);
  leader_.store(true);
  next_refresh_ = {};
  return cqrs::Status::Ok();
}

void PgWebhookDeliverer::Resign() {
  leader_.store(false);
  if (lanes_) lanes_->Stop();  // an attempt in flight ends first (within its timeouts)
  lanes_.reset();
  conn_.reset();  // ends the session: the lock goes to a standby
}

cqrs::Status PgWebhookDeliverer::RefreshLanes() {
  // Also proves the session (and so the lock) is still there while the log is quiet.
  RETURN_IF_ERROR(conn_->Query("SELECT 1").status());
  ASSIGN_OR_RETURN(auto endpoints, webhooks_.Endpoints());
  lanes_->Sync(endpoints);
  next_refresh_ = std::chrono::steady_clock::now() + o_.endpoint_refresh;
  return cqrs::Status::Ok();
}

cqrs::Status PgWebhookDeliverer::SaveCheckpoint() {
  const cqrs::Position at = position();
  RETURN_IF_ERROR(PgWebhookStore::SaveCheckpoint(*conn_, o_.name, at));
  saved_ = at;
  next_checkpoint_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  return cqrs::Status::Ok();
}

cqrs::Status PgWebhookDeliverer::Step() {
  using Clock = std::chrono::steady_clock;
  // What other processes changed: a retry wakes its endpoint's lane; a registration or removal (or
  // a retry for an endpoint without a lane yet) refreshes the lanes. Each Step looks (at least
  // every ~100 ms); the polls below are the safety net for a notification lost with a session.
  ASSIGN_OR_RETURN(std::vector<std::string> notes, conn_->TakeNotifications());
  for (const std::string& endpoint : notes) {
    if (endpoint.empty() || !lanes_->Wake(endpoint)) next_refresh_ = {};
  }
  if (Clock::now() >= next_refresh_) RETURN_IF_ERROR(RefreshLanes());
  // No endpoint at all (most deployments most of the time): the log is not even read. The head
  // is taken before the look, under the registration lock: an endpoint registered after it has
  // its `after` at or above that head, so nothing passed over here is for it. A "yes" is trusted
  // for a second (reading the log when none is left costs only reads); a "no" is never reused.
  const cqrs::Position head = store_.Head();
  if (position() < head && (!endpoints_seen_ || Clock::now() >= recheck_endpoints_)) {
    ASSIGN_OR_RETURN(endpoints_seen_, PgWebhookStore::AnyEndpoint(*conn_));
    recheck_endpoints_ = Clock::now() + std::chrono::seconds(1);
    if (!endpoints_seen_) {
      position_.store(head.value());
      if (Clock::now() >= next_checkpoint_) RETURN_IF_ERROR(SaveCheckpoint());
      status_.Set(cqrs::Status::Ok());
      cqrs::PauseUnlessStopped(stop_, std::chrono::milliseconds(100));  // a look at most 10 times a second
      return cqrs::Status::Ok();
    }
  }
  const cqrs::Position next = position().next();
  auto batch = store_.ReadAll(next, o_.max_batch);
  if (!batch.ok()) {
    // The store reports its own health; the session is fine.
    status_.Set(batch.status());
    cqrs::PauseUnlessStopped(stop_, std::chrono::milliseconds(200));
    return cqrs::Status::Ok();
  }
  if (batch->empty()) {
    // Quiet now: the position passed over without endpoints is saved, at most once a second.
    if (saved_ < position() && Clock::now() >= next_checkpoint_) RETURN_IF_ERROR(SaveCheckpoint());
    store_.WaitForPosition(next, Clock::now() + std::chrono::milliseconds(100));
    return cqrs::Status::Ok();
  }
  const cqrs::Position last = batch->back().position;
  // Decoded before the transaction (finding a verdict's retailer may read the store), so that the
  // registration lock is held only for the inserts.
  std::vector<std::pair<const cqrs::RecordedEvent*, StatusChange>> changes;
  for (const cqrs::RecordedEvent& e : *batch) {
    if (!e.stream.starts_with(events::kStreamPrefix)) continue;
    auto change = changes_.Decode(e);
    if (!change.ok() && change.status().code() == cqrs::StatusCode::kUnavailable) {
      status_.Set(change.status());  // the store could not be read: the batch again, later
      cqrs::PauseUnlessStopped(stop_, std::chrono::milliseconds(200));
      return cqrs::Status::Ok();
    }
    // An event that does not say whose ad it is cannot be delivered to anyone: passed over
    // rather than holding back every later change.
    if (change.ok() && *change) changes.emplace_back(&e, std::move(**change));
  }
  std::set<std::string> woken;
  const std::int64_t now_us = NowUs();
  RETURN_IF_ERROR(PgWebhookStore::CommitFanOut(*conn_, o_.name, last, [&](const std::vector<WebhookEndpoint>& eps) {
    std::vector<WebhookDelivery> ds;
    woken.clear();
    if (eps.empty()) return ds;
    for (const auto& [e, change] : changes) {
      for (auto& d : DeliveriesOf(*e, change, eps, now_us)) {
        woken.insert(d.endpoint_id);
        ds.push_back(std::move(d));
      }
    }
    return ds;
  }));
  position_.store(last.value());
  saved_ = last;
  status_.Set(cqrs::Status::Ok());
  bool missing = false;
  for (const auto& id : woken) missing |= !lanes_->Wake(id);
  if (missing) {
    // An endpoint registered since the last refresh: its lane now, then its first deliveries.
    RETURN_IF_ERROR(RefreshLanes());
    for (const auto& id : woken) lanes_->Wake(id);
  }
  return cqrs::Status::Ok();
}

}  // namespace adsd::ads::notify
