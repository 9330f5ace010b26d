#include "ads/write/outbox.h"

namespace adsd::ads {

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS ads_write(
  ad_id TEXT PRIMARY KEY,
  retailer TEXT NOT NULL,
  created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id BLOB NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  payload BLOB NOT NULL,
  metadata BLOB NOT NULL,
  correlation_id BLOB NOT NULL,
  published_position INTEGER);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox(seq) WHERE published_position IS NULL;
)sql";

std::string_view Bytes(const cqrs::Uuid& u) { return {reinterpret_cast<const char*>(u.bytes.data()), u.bytes.size()}; }

cqrs::Uuid UuidFrom(std::string_view b) {
  cqrs::Uuid u;
  if (b.size() == 16) std::copy(b.begin(), b.end(), u.bytes.begin());
  return u;
}

}  // namespace

cqrs::Result<std::unique_ptr<Outbox>> Outbox::Open(const std::filesystem::path& path) {
  cqrs::sql::OpenOptions o;
  o.durability = cqrs::sql::Durability::kFull;  // an acknowledged ad must survive power loss
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(path, o));
  RETURN_IF_ERROR(db->Exec(kSchema));
  // Checkpoints off the request path (see cqrs/sql/wal_folder.h): with synchronous=FULL an
  // automatic one fsyncs the whole file inside some request's commit.
  RETURN_IF_ERROR(db->Exec("PRAGMA wal_autocheckpoint=0"));
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(db)));
  outbox->wal_folder_ = std::make_unique<cqrs::sql::WalFolder>(path, std::chrono::milliseconds(250));
  return outbox;
}

cqrs::Result<cqrs::sql::Statement*> Outbox::Cached(cqrs::sql::Database& db, std::optional<cqrs::sql::Statement>& slot,
                                                   std::string_view sql) {
  if (!slot) {
    ASSIGN_OR_RETURN(auto st, db.Prepare(sql));
    slot.emplace(std::move(st));
  }
  slot->Reset();
  return &*slot;
}

cqrs::Status Outbox::Store(const std::string& ad_id, const std::string& retailer, const std::string& stream,
                           const cqrs::EventData& e) {
  // Many requests' stores share one durable commit (see cqrs/sql/group_commit.h).
  return commits_.Run([&](cqrs::sql::Database& db) -> cqrs::Status {
    mu_.AssertHeld();  // GroupCommit runs its operations under the mutex it was given: mu_
    ASSIGN_OR_RETURN(cqrs::sql::Statement * ad,
                     Cached(db, insert_ad_, "INSERT INTO ads_write(ad_id, retailer, created_us) VALUES (?, ?, ?)"));
    ad->Bind(1, ad_id).Bind(2, retailer).Bind(3, e.timestamp_us);
    RETURN_IF_ERROR(ad->Run());
    ASSIGN_OR_RETURN(
        cqrs::sql::Statement * ob,
        Cached(db, insert_event_,
               "INSERT INTO outbox(event_id, stream, type, schema_version, payload, metadata, correlation_id) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    ob->BindBlob(1, Bytes(e.event_id))
        .Bind(2, stream)
        .Bind(3, e.type)
        .Bind(4, static_cast<std::int64_t>(e.schema_version))
        .BindBlob(5, e.payload)
        .BindBlob(6, e.metadata)
        .BindBlob(7, Bytes(e.correlation_id));
    return ob->Run();
  });
}

void Outbox::MarkPublished(const cqrs::Uuid& event_id, cqrs::Position position) {
  // Not waited for: a mark lost in a crash only makes the relay publish the event again, which
  // the store recognizes as the same append. So the request does not wait for a second fsync.
  commits_.RunDetached([this, event_id, position](cqrs::sql::Database& db) -> cqrs::Status {
    mu_.AssertHeld();  // as in Store()
    ASSIGN_OR_RETURN(cqrs::sql::Statement * st,
                     Cached(db, mark_published_, "UPDATE outbox SET published_position = ? WHERE event_id = ?"));
    st->Bind(1, static_cast<std::int64_t>(position.value())).BindBlob(2, Bytes(event_id));
    return st->Run();
  });
}

cqrs::Result<cqrs::AppendResult> Outbox::Publish(cqrs::EventStore& store, const std::string& stream,
                                                 const cqrs::EventData& event) {
  ASSIGN_OR_RETURN(cqrs::AppendResult r, store.Append(stream, cqrs::ExpectedVersion::NoStream(), std::span(&event, 1)));
  // If this mark is lost in a crash, the relay publishes again: the store sees the same event.
  MarkPublished(event.event_id, r.last_position);
  return r;
}

cqrs::Result<int> Outbox::PublishPending(cqrs::EventStore& store) {
  struct Pending {
    std::string stream;
    cqrs::EventData event;
  };
  std::vector<Pending> pending;
  {
    cqrs::MutexLock lock(mu_);
    ASSIGN_OR_RETURN(auto q,
                     db_->Prepare("SELECT event_id, stream, type, schema_version, payload, metadata, correlation_id, "
                                  "(SELECT created_us FROM ads_write w WHERE 'ad-' || w.ad_id = outbox.stream) "
                                  "FROM outbox WHERE published_position IS NULL ORDER BY seq LIMIT 1000"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      Pending p;
      p.event.event_id = UuidFrom(q.Text(0));
      p.stream = q.Text(1);
      p.event.type = q.Text(2);
      p.event.schema_version = static_cast<std::uint32_t>(q.Int(3));
      p.event.payload = q.Text(4);
      p.event.metadata = q.Text(5);
      p.event.correlation_id = UuidFrom(q.Text(6));
      p.event.timestamp_us = q.OptInt(7).value_or(0);
      pending.push_back(std::move(p));
    }
  }
  int published = 0;
  for (const Pending& p : pending) {
    auto r = Publish(store, p.stream, p.event);
    if (!r.ok()) return r.status();
    ++published;
  }
  return published;
}

cqrs::Result<std::int64_t> Outbox::PendingCount() {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT COUNT(*) FROM outbox WHERE published_position IS NULL"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.Int(0) : 0;
}

OutboxRelay::OutboxRelay(Outbox& outbox, cqrs::EventStore& store, std::chrono::milliseconds interval)
    : outbox_(outbox), store_(store), interval_(interval) {
  thread_ = std::thread([this] {
    cqrs::MutexLock lock(mu_);
    while (!stop_) {
      lock.Unlock();
      auto n = outbox_.PublishPending(store_);
      if (n.ok()) published_.fetch_add(static_cast<std::uint64_t>(*n));
      lock.Lock();
      const auto deadline = cqrs::CondVar::Clock::now() + interval_;
      while (!stop_) {
        if (!cv_.WaitUntil(mu_, deadline)) break;
      }
    }
  });
}

OutboxRelay::~OutboxRelay() {
  {
    cqrs::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  thread_.join();
}

}  // namespace adsd::ads
