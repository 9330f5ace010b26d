// Outbox: the `cqrs` pipeline's write model — the ad and the event to publish, stored in one
// SQLite transaction — and the relay that publishes whatever was stored but not yet published.
//
// The paper's CQRS flow stores the ad, then publishes it: a process that dies in between leaves
// an ad that no consumer will ever see (the dual-write hazard). Here the event rides in the same
// transaction as the ad, with its final event id, so publishing is just appending that event to
// its stream with `no_stream`: publishing twice (the request path and the relay racing, or a
// relay rerun after a crash) is recognized by the store as one append.
//
// Thread-safety: all methods are safe from any thread (one connection behind a mutex; concurrent
// stores and marks share durable commits).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/sql/group_commit.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/sql/wal_folder.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

class Outbox {
 public:
  static cqrs::Result<std::unique_ptr<Outbox>> Open(const std::filesystem::path& db);

  // Stores the ad row and its outbox event in one durable transaction (synchronous=FULL).
  cqrs::Status Store(const std::string& ad_id, const std::string& retailer, const std::string& stream,
                     const cqrs::EventData& event) EXCLUDES(mu_);
  // Appends the event to the log and marks it published.
  cqrs::Result<cqrs::AppendResult> Publish(cqrs::EventStore& store, const std::string& stream,
                                           const cqrs::EventData& event) EXCLUDES(mu_);
  // Publishes every stored, unpublished event (the relay's pass). Returns how many.
  cqrs::Result<int> PublishPending(cqrs::EventStore& store) EXCLUDES(mu_);
  cqrs::Result<std::int64_t> PendingCount() EXCLUDES(mu_);

 private:
  explicit Outbox(std::unique_ptr<cqrs::sql::Database> db) : db_(std::move(db)), commits_(*db_, mu_) {}
  void MarkPublished(const cqrs::Uuid& event_id, cqrs::Position position) EXCLUDES(mu_);
  // A statement prepared once per connection, rewound for reuse. Under mu_ (`slot` is a member
  // guarded by it).
  static cqrs::Result<cqrs::sql::Statement*> Cached(cqrs::sql::Database& db, std::optional<cqrs::sql::Statement>& slot,
                                                    std::string_view sql);

  // The connection and its statements. commits_ takes mu_ around its transactions, and its
  // operations run under it.
  cqrs::Mutex mu_;
  const std::unique_ptr<cqrs::sql::Database> db_ PT_GUARDED_BY(mu_);
  std::optional<cqrs::sql::Statement> insert_ad_ GUARDED_BY(mu_);
  std::optional<cqrs::sql::Statement> insert_event_ GUARDED_BY(mu_);
  std::optional<cqrs::sql::Statement> mark_published_ GUARDED_BY(mu_);

  cqrs::sql::GroupCommit commits_;  // thread-safe
  std::unique_ptr<cqrs::sql::WalFolder> wal_folder_;
};

// Runs Outbox::PublishPending at start and then every `interval`, on its own thread.
class OutboxRelay {
 public:
  OutboxRelay(Outbox& outbox, cqrs::EventStore& store, std::chrono::milliseconds interval);
  ~OutboxRelay();
  std::uint64_t published() const { return published_.load(); }

 private:
  Outbox& outbox_;
  cqrs::EventStore& store_;
  const std::chrono::milliseconds interval_;
  cqrs::Mutex mu_;
  cqrs::CondVar cv_;  // stop_ set
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<std::uint64_t> published_{0};
  std::thread thread_;  // started in the constructor's body, joined by the destructor
};

}  // namespace adsd::ads
