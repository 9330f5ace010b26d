// PgWebhookDeliverer: webhook delivery in the distributed shape. Every worker process (--role
// worker or all) runs one; exactly one of them delivers at a time, the leader, which holds a
// PostgreSQL session advisory lock (as the bus relay does). The others stand by and try the lock
// every `standby_retry`: the server releases it when the leader's session ends, at once for a
// killed process (its socket closes), so a standby takes over within about a second.
//
// The leader runs the fan-out and the lanes. The fan-out is a checkpointed consumer of the
// PostgreSQL store's global order: it reads a batch after its checkpoint (table `checkpoints`,
// row `name`), derives the deliveries (webhook_fanout.h) and commits them with the new checkpoint
// in one transaction on its leader session (PgWebhookStore::CommitFanOut). A leader that dies
// mid-batch committed nothing of it; the next one starts at the checkpoint and derives the same
// delivery ids, and deliveries pending in the table are sent by its lanes under the same
// webhook-id (at least once: an attempt in flight when the leader died is sent again).
//
// While no endpoint is registered the leader does not read the log: it looks at the endpoints
// table (under the registration lock) at most ten times a second and moves its position to the
// head it saw before looking; the checkpoint is saved at most once a second.
//
// The lanes follow the endpoints table: an endpoint registered or removed on any process gets or
// loses its lane, and a retry asked on any process wakes its lane, within ~100 ms — the changing
// transaction NOTIFYs PgWebhookStore::kChangesChannel, which the leader LISTENs to. As a safety
// net for a notification lost with a session, the lanes are refreshed every `endpoint_refresh`
// and look at their endpoint's due deliveries at least every WebhookOptions::lane_poll.
//
// Lifecycle: Start() starts the thread; Stop() (or the destructor) stops the lanes and ends the
// session (handing the lead over). Thread-safety: the accessors are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "ads/notify/pg_webhook_store.h"
#include "ads/notify/status_change.h"
#include "ads/notify/webhook_lanes.h"
#include "ads/notify/webhook_options.h"
#include "cqrs/core/loop_status.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads::notify {

struct PgDelivererOptions {
  std::string url;                // the event store's database: the lock and the checkpoint
  std::string name = "webhooks";  // the checkpoint's row and the lock's name
  std::size_t max_batch = 500;
  std::chrono::milliseconds standby_retry{500};
  std::chrono::milliseconds endpoint_refresh{1000};
};

class PgWebhookDeliverer {
 public:
  // `store`, `changes` and `webhooks` must outlive the deliverer.
  static cqrs::Result<std::unique_ptr<PgWebhookDeliverer>> Start(const cqrs::EventStore& store, StatusChanges& changes,
                                                                 PgWebhookStore& webhooks, WebhookOptions options,
                                                                 PgDelivererOptions o);
  ~PgWebhookDeliverer() { Stop(); }
  void Stop();

  bool leader() const { return leader_.load(); }
  // The fan-out's checkpoint as this process last knew it (a standby reads it as it tries the lock).
  cqrs::Position position() const { return cqrs::Position(position_.load()); }
  cqrs::Status status() const { return status_.Get(); }

 private:
  PgWebhookDeliverer(const cqrs::EventStore& store, StatusChanges& changes, PgWebhookStore& webhooks,
                     WebhookOptions options, PgDelivererOptions o)
      : store_(store), changes_(changes), webhooks_(webhooks), options_(std::move(options)), o_(std::move(o)) {}
  void Run();
  // Standing by: tries the lock; on success reads the checkpoint and starts the lanes.
  cqrs::Status TryLead();
  // One batch of the fan-out (or a wait for one).
  cqrs::Status Step();
  cqrs::Status RefreshLanes();
  // Saves position() as the checkpoint (the path without endpoints, which commits nothing else).
  cqrs::Status SaveCheckpoint();
  void Resign();

  const cqrs::EventStore& store_;
  StatusChanges& changes_;
  PgWebhookStore& webhooks_;
  const WebhookOptions options_;
  const PgDelivererOptions o_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  std::atomic<std::uint64_t> position_{0};
  cqrs::LoopStatus status_;
  // The thread's own: the session (holding the lock while leader) and the leader's lanes.
  std::unique_ptr<cqrs::pg::Connection> conn_;
  std::unique_ptr<WebhookLanes> lanes_;
  std::chrono::steady_clock::time_point next_refresh_;
  std::chrono::steady_clock::time_point next_checkpoint_;  // while there is no endpoint
  cqrs::Position saved_;                                   // the checkpoint as committed
  bool endpoints_seen_ = false;                            // at the last look (PgWebhookStore::AnyEndpoint)
  std::chrono::steady_clock::time_point recheck_endpoints_;
  std::thread thread_;
};

}  // namespace adsd::ads::notify
