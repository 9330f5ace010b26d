#include "ads/notify/sqlite_webhook_store.h"

#include <sys/stat.h>

namespace adsd::ads::notify {

namespace {

cqrs::Status TooMany(std::size_t limit) {
  return cqrs::AlreadyExists("a retailer may register at most " + std::to_string(limit) + " webhooks");
}

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS webhook_endpoints(
  id TEXT PRIMARY KEY,
  retailer TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,          -- comma-separated status change types
  secret TEXT NOT NULL,
  after_position INTEGER NOT NULL,
  created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries(
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  ad_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  occurred_at_us INTEGER NOT NULL,
  state TEXT NOT NULL,           -- pending | delivered | parked
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_us INTEGER NOT NULL,
  last_error TEXT,
  last_status INTEGER,
  created_us INTEGER NOT NULL,
  delivered_us INTEGER);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_state ON webhook_deliveries(endpoint_id, state, position);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_ad ON webhook_deliveries(endpoint_id, ad_id, state, position);
)sql";

constexpr std::string_view kColumns =
    "id, endpoint_id, ad_id, position, type, body, occurred_at_us, state, attempts, next_attempt_us, last_error, "
    "last_status, created_us, delivered_us";

WebhookDelivery Row(const cqrs::sql::Statement& s) {
  WebhookDelivery d;
  d.id = std::string(s.Text(0));
  d.endpoint_id = std::string(s.Text(1));
  d.ad_id = std::string(s.Text(2));
  d.position = cqrs::Position(static_cast<std::uint64_t>(s.Int(3)));
  d.type = std::string(s.Text(4));
  d.body = std::string(s.Text(5));
  d.occurred_at_us = s.Int(6);
  d.state = DeliveryStateOf(s.Text(7));
  d.attempts = static_cast<int>(s.Int(8));
  d.next_attempt_us = s.Int(9);
  d.last_error = s.OptText(10).value_or("");
  if (auto st = s.OptInt(11)) d.last_status = static_cast<int>(*st);
  d.created_us = s.Int(12);
  d.delivered_us = s.OptInt(13);
  return d;
}

}  // namespace

cqrs::Result<std::unique_ptr<SqliteWebhookStore>> SqliteWebhookStore::Open(const std::filesystem::path& file) {
  // The secrets sign for the retailers: nobody else on the machine may read them.
  const mode_t old = ::umask(077);
  auto db = cqrs::sql::Database::Open(file, {.durability = cqrs::sql::Durability::kFull, .cache_kib = 2048});
  ::umask(old);
  if (!db.ok()) return db.status();
  ::chmod(file.c_str(), 0600);
  RETURN_IF_ERROR((*db)->Exec(kSchema));
  std::unique_ptr<SqliteWebhookStore> s(new SqliteWebhookStore(std::move(*db)));
  RETURN_IF_ERROR(s->LoadEndpoints());
  return s;
}

cqrs::Status SqliteWebhookStore::LoadEndpoints() {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT id, retailer, url, events, secret, after_position, created_us "
                                         "FROM webhook_endpoints"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    WebhookEndpoint e;
    e.id = std::string(st.Text(0));
    e.retailer = std::string(st.Text(1));
    e.url = std::string(st.Text(2));
    e.events = SplitEventTypes(st.Text(3));
    e.secret = std::string(st.Text(4));
    e.after = cqrs::Position(static_cast<std::uint64_t>(st.Int(5)));
    e.created_us = st.Int(6);
    endpoints_[e.id] = std::move(e);
  }
  return cqrs::Status::Ok();
}

cqrs::Status SqliteWebhookStore::AddEndpoint(WebhookEndpoint& e, std::size_t limit,
                                             const std::function<cqrs::Position()>& head) {
  cqrs::MutexLock lock(mu_);
  std::size_t mine = 0;
  for (const auto& [id, other] : endpoints_) mine += other.retailer == e.retailer ? 1 : 0;
  if (mine >= limit) return TooMany(limit);
  e.after = head();
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO webhook_endpoints(id, retailer, url, events, secret, "
                                         "after_position, created_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  st.Bind(1, e.id).Bind(2, e.retailer).Bind(3, e.url).Bind(4, JoinEventTypes(e.events)).Bind(5, e.secret);
  st.Bind(6, static_cast<std::int64_t>(e.after.value())).Bind(7, e.created_us);
  RETURN_IF_ERROR(st.Run());
  endpoints_[e.id] = e;
  return cqrs::Status::Ok();
}

cqrs::Status SqliteWebhookStore::RemoveEndpoint(const std::string& id, const std::string& retailer) {
  cqrs::MutexLock lock(mu_);
  auto it = endpoints_.find(id);
  if (it == endpoints_.end() || (!retailer.empty() && it->second.retailer != retailer)) {
    return cqrs::NotFound("no webhook " + id);
  }
  ASSIGN_OR_RETURN(auto tx, cqrs::sql::Transaction::Begin(*db_));
  ASSIGN_OR_RETURN(auto del_d, db_->Prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1"));
  RETURN_IF_ERROR(del_d.Bind(1, id).Run());
  ASSIGN_OR_RETURN(auto del_e, db_->Prepare("DELETE FROM webhook_endpoints WHERE id = ?1"));
  RETURN_IF_ERROR(del_e.Bind(1, id).Run());
  RETURN_IF_ERROR(tx.Commit());
  endpoints_.erase(it);
  return cqrs::Status::Ok();
}

cqrs::Result<std::vector<WebhookEndpoint>> SqliteWebhookStore::Endpoints() const {
  cqrs::MutexLock lock(mu_);
  std::vector<WebhookEndpoint> out;
  out.reserve(endpoints_.size());
  for (const auto& [id, e] : endpoints_) out.push_back(e);
  return out;
}

cqrs::Result<std::optional<WebhookEndpoint>> SqliteWebhookStore::Endpoint(const std::string& id) const {
  cqrs::MutexLock lock(mu_);
  auto it = endpoints_.find(id);
  if (it == endpoints_.end()) return std::optional<WebhookEndpoint>();
  return std::optional<WebhookEndpoint>(it->second);
}

cqrs::Status SqliteWebhookStore::AddDeliveries(const std::vector<WebhookDelivery>& ds) {
  if (ds.empty()) return cqrs::Status::Ok();
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto tx, cqrs::sql::Transaction::Begin(*db_));
  ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR IGNORE INTO webhook_deliveries(id, endpoint_id, ad_id, position, "
                                         "type, body, occurred_at_us, state, attempts, next_attempt_us, created_us) "
                                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?8)"));
  for (const auto& d : ds) {
    // An endpoint removed meanwhile gets nothing.
    if (!endpoints_.contains(d.endpoint_id)) continue;
    st.Bind(1, d.id).Bind(2, d.endpoint_id).Bind(3, d.ad_id).Bind(4, static_cast<std::int64_t>(d.position.value()));
    st.Bind(5, d.type).Bind(6, d.body).Bind(7, d.occurred_at_us).Bind(8, d.created_us);
    RETURN_IF_ERROR(st.Run());
    st.Reset();
  }
  return tx.Commit();
}

cqrs::Result<WebhookStore::Next> SqliteWebhookStore::NextDue(const std::string& endpoint_id, std::int64_t now_us) {
  cqrs::MutexLock lock(mu_);
  Next next;
  ASSIGN_OR_RETURN(auto due, db_->Prepare(std::string("SELECT ") + std::string(kColumns) +
                                          " FROM webhook_deliveries d WHERE endpoint_id = ?1 AND state = 'pending' "
                                          "AND next_attempt_us <= ?2 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries "
                                          "e WHERE e.endpoint_id = d.endpoint_id AND e.ad_id = d.ad_id AND e.state = "
                                          "'pending' AND e.position < d.position) ORDER BY position LIMIT 1"));
  due.Bind(1, endpoint_id).Bind(2, now_us);
  ASSIGN_OR_RETURN(bool found, due.Step());
  if (found) {
    next.due = Row(due);
    return next;
  }
  // Only the oldest pending delivery of each ad can fall due: a later one waits for it (counting
  // it would wake the lane at once, again and again, while the older one waits for its retry).
  ASSIGN_OR_RETURN(auto earliest, db_->Prepare("SELECT min(next_attempt_us) FROM webhook_deliveries d "
                                               "WHERE endpoint_id = ?1 AND state = 'pending' AND NOT EXISTS "
                                               "(SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = "
                                               "d.endpoint_id AND e.ad_id = d.ad_id AND e.state = 'pending' "
                                               "AND e.position < d.position)"));
  earliest.Bind(1, endpoint_id);
  ASSIGN_OR_RETURN(bool row, earliest.Step());
  if (row) next.earliest_us = earliest.OptInt(0);
  return next;
}

cqrs::Status SqliteWebhookStore::MarkDelivered(const std::string& id, int status, std::int64_t now_us) {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, "
                                         "last_status = ?2, last_error = NULL, delivered_us = ?3 WHERE id = ?1"));
  return st.Bind(1, id).Bind(2, static_cast<std::int64_t>(status)).Bind(3, now_us).Run();
}

cqrs::Status SqliteWebhookStore::MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                                            std::optional<std::int64_t> next_attempt_us) {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE webhook_deliveries SET state = ?2, attempts = attempts + 1, "
                                         "last_status = ?3, last_error = ?4, next_attempt_us = coalesce(?5, "
                                         "next_attempt_us) WHERE id = ?1"));
  st.Bind(1, id).Bind(2, next_attempt_us ? "pending" : "parked");
  st.Bind(3, status ? std::optional<std::int64_t>(*status) : std::nullopt).Bind(4, error).Bind(5, next_attempt_us);
  return st.Run();
}

cqrs::Result<std::vector<WebhookDelivery>> SqliteWebhookStore::List(const std::string& endpoint_id,
                                                                    DeliveryFilter filter, std::size_t limit) const {
  const std::string where = std::string("endpoint_id = ?1") + std::string(DeliveryFilterSql(filter));
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare(std::string("SELECT ") + std::string(kColumns) +
                                         " FROM webhook_deliveries WHERE " + where + " ORDER BY position LIMIT ?2"));
  st.Bind(1, endpoint_id).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<WebhookDelivery> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(Row(st));
  }
  return out;
}

cqrs::Status SqliteWebhookStore::Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto find, db_->Prepare("SELECT state FROM webhook_deliveries WHERE endpoint_id = ?1 AND id = ?2"));
  find.Bind(1, endpoint_id).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, find.Step());
  if (!row) return cqrs::NotFound("no delivery " + id);
  const DeliveryState state = DeliveryStateOf(find.Text(0));
  if (state == DeliveryState::kDelivered) return cqrs::AlreadyExists("delivery " + id + " was delivered");
  ASSIGN_OR_RETURN(auto st, db_->Prepare("UPDATE webhook_deliveries SET state = 'pending', next_attempt_us = ?2, "
                                         "attempts = CASE state WHEN 'parked' THEN 0 ELSE attempts END WHERE id = ?1"));
  return st.Bind(1, id).Bind(2, now_us).Run();
}

cqrs::Status SqliteWebhookStore::PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1 AND "
                                         "state = 'delivered' AND delivered_us < ?2"));
  return st.Bind(1, endpoint_id).Bind(2, before_us).Run();
}

cqrs::Result<WebhookStore::Counts> SqliteWebhookStore::CountStates() const {
  cqrs::MutexLock lock(mu_);
  ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT coalesce(sum(state = 'pending'), 0), "
                                         "coalesce(sum(state = 'pending' AND attempts > 0), 0), "
                                         "coalesce(sum(state = 'parked'), 0) FROM webhook_deliveries "
                                         "WHERE state != 'delivered'"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  Counts c;
  if (row) c = {st.Int(0), st.Int(1), st.Int(2)};
  return c;
}

}  // namespace adsd::ads::notify
