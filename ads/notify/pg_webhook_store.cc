#include "ads/notify/pg_webhook_store.h"

#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/migrations.h"
#include "cqrs/store/postgres/checkpoints.h"

namespace adsd::ads::notify {

namespace {

using cqrs::pg::Param;
using cqrs::pg::Rows;
using cqrs::pg::Statement;

const cqrs::pg::Migration kMigrations[] = {
    {1, "webhook endpoints and deliveries", R"sql(
CREATE TABLE webhook_endpoints(
  id TEXT COLLATE "C" PRIMARY KEY,
  retailer TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,          -- comma-separated status change types
  secret TEXT NOT NULL,
  after_position BIGINT NOT NULL,
  created_us BIGINT NOT NULL);
CREATE TABLE webhook_deliveries(
  id TEXT COLLATE "C" PRIMARY KEY,
  endpoint_id TEXT COLLATE "C" NOT NULL,
  ad_id TEXT NOT NULL,
  position BIGINT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  occurred_at_us BIGINT NOT NULL,
  state TEXT NOT NULL,           -- pending | delivered | parked
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_us BIGINT NOT NULL,
  last_error TEXT,
  last_status INT,
  created_us BIGINT NOT NULL,
  delivered_us BIGINT);
CREATE INDEX webhook_deliveries_by_state ON webhook_deliveries(endpoint_id, state, position);
CREATE INDEX webhook_deliveries_by_ad ON webhook_deliveries(endpoint_id, ad_id, state, position);
)sql"},
};

constexpr std::string_view kComponent = "webhooks";

// Taken (for the transaction) by registrations, removals and each fan-out commit.
std::int64_t RegistrationLock() {
  static const std::int64_t key = cqrs::pg::AdvisoryLockKey("adsd webhooks registration");
  return key;
}

constexpr const char* kEndpointColumns = "id, retailer, url, events, secret, after_position, created_us";
constexpr const char* kDeliveryColumns =
    "id, endpoint_id, ad_id, position, type, body, occurred_at_us, state, attempts, next_attempt_us, last_error, "
    "last_status, created_us, delivered_us";

// Deliveries not already there, of endpoints still there.
constexpr const char* kInsertDeliveries =
    "INSERT INTO webhook_deliveries(id, endpoint_id, ad_id, position, type, body, occurred_at_us, state, attempts, "
    "next_attempt_us, created_us) "
    "SELECT u.id, u.ep, u.ad, u.pos, u.type, u.body, u.occ, 'pending', 0, u.created, u.created "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], "
    "$8::bigint[]) AS u(id, ep, ad, pos, type, body, occ, created) "
    "WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = u.ep) ON CONFLICT (id) DO NOTHING";

std::vector<Param> DeliveryArrays(const std::vector<WebhookDelivery>& ds) {
  std::vector<std::string> id, ep, ad, pos, type, body, occ, created;
  for (const auto& d : ds) {
    id.push_back(d.id);
    ep.push_back(d.endpoint_id);
    ad.push_back(d.ad_id);
    pos.push_back(std::to_string(d.position.value()));
    type.push_back(d.type);
    body.push_back(d.body);
    occ.push_back(std::to_string(d.occurred_at_us));
    created.push_back(std::to_string(d.created_us));
  }
  std::vector<Param> out;
  for (auto* v : {&id, &ep, &ad, &pos, &type, &body, &occ, &created}) {
    out.push_back(Param::Text(cqrs::pg::ArrayLiteral(*v)));
  }
  return out;
}

WebhookEndpoint EndpointRow(const Rows& r, int i) {
  WebhookEndpoint e;
  e.id = std::string(r.Text(i, 0));
  e.retailer = std::string(r.Text(i, 1));
  e.url = std::string(r.Text(i, 2));
  e.events = SplitEventTypes(r.Text(i, 3));
  e.secret = std::string(r.Text(i, 4));
  e.after = cqrs::Position(static_cast<std::uint64_t>(r.Int(i, 5)));
  e.created_us = r.Int(i, 6);
  return e;
}

std::vector<WebhookEndpoint> EndpointRows(const Rows& r) {
  std::vector<WebhookEndpoint> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(EndpointRow(r, i));
  return out;
}

WebhookDelivery DeliveryRow(const Rows& r, int i) {
  WebhookDelivery d;
  d.id = std::string(r.Text(i, 0));
  d.endpoint_id = std::string(r.Text(i, 1));
  d.ad_id = std::string(r.Text(i, 2));
  d.position = cqrs::Position(static_cast<std::uint64_t>(r.Int(i, 3)));
  d.type = std::string(r.Text(i, 4));
  d.body = std::string(r.Text(i, 5));
  d.occurred_at_us = r.Int(i, 6);
  d.state = DeliveryStateOf(r.Text(i, 7));
  d.attempts = static_cast<int>(r.Int(i, 8));
  d.next_attempt_us = r.Int(i, 9);
  if (!r.IsNull(i, 10)) d.last_error = std::string(r.Text(i, 10));
  if (!r.IsNull(i, 11)) d.last_status = static_cast<int>(r.Int(i, 11));
  d.created_us = r.Int(i, 12);
  if (!r.IsNull(i, 13)) d.delivered_us = r.Int(i, 13);
  return d;
}

Param OptInt(std::optional<std::int64_t> v) { return v ? Param::Int(*v) : Param::Null(); }

// Runs `statements` (BEGIN ... COMMIT) at once; on failure the transaction is rolled back so the
// connection goes back to its pool clean.
cqrs::Result<std::vector<Rows>> Transaction(cqrs::pg::Connection& c, const std::vector<Statement>& statements) {
  auto rows = c.Pipeline(statements);
  if (!rows.ok() && c.healthy()) (void)c.Exec("ROLLBACK");
  return rows;
}

}  // namespace

cqrs::Result<std::unique_ptr<PgWebhookStore>> PgWebhookStore::Open(const std::string& url) {
  ASSIGN_OR_RETURN(auto conn, cqrs::pg::Connection::Open(url));
  ASSIGN_OR_RETURN(Rows recovery, conn->Query("SELECT pg_is_in_recovery()"));
  if (recovery.Text(0, 0) == "t") {
    RETURN_IF_ERROR(cqrs::pg::CheckSchema(*conn, kComponent, kMigrations));
  } else {
    RETURN_IF_ERROR(cqrs::pg::Migrate(*conn, kComponent, kMigrations));
  }
  return std::unique_ptr<PgWebhookStore>(new PgWebhookStore(url));
}

cqrs::Status PgWebhookStore::AddEndpoint(WebhookEndpoint& e, std::size_t limit,
                                         const std::function<cqrs::Position()>&) {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Status {
    ASSIGN_OR_RETURN(
        auto rows,
        Transaction(
            c, {{"BEGIN"},
                {"SELECT pg_advisory_xact_lock($1)", {Param::Int(RegistrationLock())}},
                {"SELECT count(*) FROM webhook_endpoints WHERE retailer = $1", {Param::Text(e.retailer)}},
                // Nothing inserted when the retailer is at its limit.
                {"INSERT INTO webhook_endpoints(id, retailer, url, events, secret, after_position, created_us) "
                 "SELECT $1, $2, $3, $4, $5, position, $6 FROM log_head WHERE id = 1 AND "
                 "(SELECT count(*) FROM webhook_endpoints WHERE retailer = $2) < $7 RETURNING after_position",
                 {Param::Text(e.id), Param::Text(e.retailer), Param::Text(e.url), Param::Text(JoinEventTypes(e.events)),
                  Param::Text(e.secret), Param::Int(e.created_us), Param::Int(static_cast<std::int64_t>(limit))}},
                {"SELECT pg_notify($1, '')", {Param::Text(std::string(kChangesChannel))}},
                {"COMMIT"}}));
    if (rows[3].empty()) {
      if (rows[2].Int(0, 0) >= static_cast<std::int64_t>(limit)) {
        return cqrs::AlreadyExists("a retailer may register at most " + std::to_string(limit) + " webhooks");
      }
      return cqrs::Internal("webhooks: the event store's log_head row is missing");
    }
    e.after = cqrs::Position(static_cast<std::uint64_t>(rows[3].Int(0, 0)));
    return cqrs::Status::Ok();
  });
}

cqrs::Status PgWebhookStore::RemoveEndpoint(const std::string& id, const std::string& retailer) {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Status {
    ASSIGN_OR_RETURN(
        auto rows,
        Transaction(c, {{"BEGIN"},
                        {"SELECT pg_advisory_xact_lock($1)", {Param::Int(RegistrationLock())}},
                        {"DELETE FROM webhook_endpoints WHERE id = $1 AND ($2 = '' OR retailer = $2) RETURNING id",
                         {Param::Text(id), Param::Text(retailer)}},
                        // Only when the endpoint went just above (else it is another retailer's).
                        {"DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND NOT EXISTS "
                         "(SELECT 1 FROM webhook_endpoints WHERE id = $1)",
                         {Param::Text(id)}},
                        {"SELECT pg_notify($1, '')", {Param::Text(std::string(kChangesChannel))}},
                        {"COMMIT"}}));
    if (rows[2].empty()) return cqrs::NotFound("no webhook " + id);
    return cqrs::Status::Ok();
  });
}

cqrs::Result<std::vector<WebhookEndpoint>> PgWebhookStore::Endpoints() const {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<std::vector<WebhookEndpoint>> {
    ASSIGN_OR_RETURN(Rows r, c.QueryPrepared(std::string("SELECT ") + kEndpointColumns +
                                             " FROM webhook_endpoints ORDER BY created_us, id"));
    return EndpointRows(r);
  });
}

cqrs::Result<std::optional<WebhookEndpoint>> PgWebhookStore::Endpoint(const std::string& id) const {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<std::optional<WebhookEndpoint>> {
    ASSIGN_OR_RETURN(
        Rows r, c.QueryPrepared(std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints WHERE id = $1",
                                {Param::Text(id)}));
    if (r.empty()) return std::optional<WebhookEndpoint>();
    return std::optional<WebhookEndpoint>(EndpointRow(r, 0));
  });
}

cqrs::Status PgWebhookStore::AddDeliveries(const std::vector<WebhookDelivery>& ds) {
  if (ds.empty()) return cqrs::Status::Ok();
  return pool_.With([&](cqrs::pg::Connection& c) { return c.Query(kInsertDeliveries, DeliveryArrays(ds)).status(); });
}

cqrs::Result<WebhookStore::Next> PgWebhookStore::NextDue(const std::string& endpoint_id, std::int64_t now_us) {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<Next> {
    Next next;
    ASSIGN_OR_RETURN(Rows due, c.QueryPrepared(std::string("SELECT ") + kDeliveryColumns +
                                                   " FROM webhook_deliveries d WHERE endpoint_id = $1 AND state = "
                                                   "'pending' AND next_attempt_us <= $2 AND NOT EXISTS (SELECT 1 FROM "
                                                   "webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND "
                                                   "e.ad_id = d.ad_id AND e.state = 'pending' AND e.position < "
                                                   "d.position) ORDER BY position LIMIT 1",
                                               {Param::Text(endpoint_id), Param::Int(now_us)}));
    if (!due.empty()) {
      next.due = DeliveryRow(due, 0);
      return next;
    }
    // Only the oldest pending delivery of each ad can fall due: a later one waits for it.
    ASSIGN_OR_RETURN(Rows earliest, c.QueryPrepared("SELECT min(next_attempt_us) FROM webhook_deliveries d "
                                                    "WHERE endpoint_id = $1 AND state = 'pending' AND NOT EXISTS "
                                                    "(SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = "
                                                    "d.endpoint_id AND e.ad_id = d.ad_id AND e.state = 'pending' "
                                                    "AND e.position < d.position)",
                                                    {Param::Text(endpoint_id)}));
    if (!earliest.empty() && !earliest.IsNull(0, 0)) next.earliest_us = earliest.Int(0, 0);
    return next;
  });
}

cqrs::Status PgWebhookStore::MarkDelivered(const std::string& id, int status, std::int64_t now_us) {
  return pool_.With([&](cqrs::pg::Connection& c) {
    return c
        .QueryPrepared(
            "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, "
            "last_status = $2, last_error = NULL, delivered_us = $3 WHERE id = $1",
            {Param::Text(id), Param::Int(status), Param::Int(now_us)})
        .status();
  });
}

cqrs::Status PgWebhookStore::MarkFailed(const std::string& id, std::optional<int> status, const std::string& error,
                                        std::optional<std::int64_t> next_attempt_us) {
  return pool_.With([&](cqrs::pg::Connection& c) {
    return c
        .QueryPrepared(
            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, last_status = $3, "
            "last_error = $4, next_attempt_us = coalesce($5, next_attempt_us) WHERE id = $1",
            {Param::Text(id), Param::Text(next_attempt_us ? "pending" : "parked"),
             status ? Param::Int(*status) : Param::Null(), Param::Text(error), OptInt(next_attempt_us)})
        .status();
  });
}

cqrs::Result<std::vector<WebhookDelivery>> PgWebhookStore::List(const std::string& endpoint_id, DeliveryFilter filter,
                                                                std::size_t limit) const {
  const std::string where = std::string("endpoint_id = $1") + std::string(DeliveryFilterSql(filter));
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<std::vector<WebhookDelivery>> {
    ASSIGN_OR_RETURN(Rows r, c.Query(std::string("SELECT ") + kDeliveryColumns + " FROM webhook_deliveries WHERE " +
                                         where + " ORDER BY position LIMIT $2",
                                     {Param::Text(endpoint_id), Param::Int(static_cast<std::int64_t>(limit))}));
    std::vector<WebhookDelivery> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(DeliveryRow(r, i));
    return out;
  });
}

cqrs::Status PgWebhookStore::Retry(const std::string& endpoint_id, const std::string& id, std::int64_t now_us) {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Status {
    // The delivering worker hears of it at once (kChangesChannel), on the statement's commit.
    ASSIGN_OR_RETURN(Rows updated,
                     c.Query("WITH u AS (UPDATE webhook_deliveries SET state = 'pending', next_attempt_us = $3, "
                             "attempts = CASE state WHEN 'parked' THEN 0 ELSE attempts END "
                             "WHERE endpoint_id = $1 AND id = $2 AND state != 'delivered' RETURNING id) "
                             "SELECT u.id, pg_notify($4, $1) FROM u",
                             {Param::Text(endpoint_id), Param::Text(id), Param::Int(now_us),
                              Param::Text(std::string(kChangesChannel))}));
    if (!updated.empty()) return cqrs::Status::Ok();
    ASSIGN_OR_RETURN(Rows found, c.Query("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND id = $2",
                                         {Param::Text(endpoint_id), Param::Text(id)}));
    if (found.empty()) return cqrs::NotFound("no delivery " + id);
    return cqrs::AlreadyExists("delivery " + id + " was delivered");
  });
}

cqrs::Status PgWebhookStore::PruneDelivered(const std::string& endpoint_id, std::int64_t before_us) {
  return pool_.With([&](cqrs::pg::Connection& c) {
    return c
        .Query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND state = 'delivered' AND delivered_us < $2",
               {Param::Text(endpoint_id), Param::Int(before_us)})
        .status();
  });
}

cqrs::Result<WebhookStore::Counts> PgWebhookStore::CountStates() const {
  return pool_.With([&](cqrs::pg::Connection& c) -> cqrs::Result<Counts> {
    ASSIGN_OR_RETURN(Rows r, c.QueryPrepared("SELECT count(*) FILTER (WHERE state = 'pending'), "
                                             "count(*) FILTER (WHERE state = 'pending' AND attempts > 0), "
                                             "count(*) FILTER (WHERE state = 'parked') FROM webhook_deliveries "
                                             "WHERE state != 'delivered'"));
    return Counts{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2)};
  });
}

cqrs::Result<cqrs::Position> PgWebhookStore::Checkpoint(cqrs::pg::Connection& conn, const std::string& name) {
  ASSIGN_OR_RETURN(Rows r, conn.Query("SELECT position FROM checkpoints WHERE name = $1", {Param::Text(name)}));
  return cqrs::Position(r.empty() ? 0 : static_cast<std::uint64_t>(r.Int(0, 0)));
}

cqrs::Result<bool> PgWebhookStore::AnyEndpoint(cqrs::pg::Connection& conn) {
  // Under the lock: a registration that read the head before this but has not committed yet
  // would otherwise be missed, and the changes between its head and this batch with it.
  ASSIGN_OR_RETURN(auto rows, Transaction(conn, {{"BEGIN"},
                                                 {"SELECT pg_advisory_xact_lock($1)", {Param::Int(RegistrationLock())}},
                                                 {"SELECT EXISTS (SELECT 1 FROM webhook_endpoints)"},
                                                 {"COMMIT"}}));
  return rows[2].Text(0, 0) == "t";
}

namespace {
// With the hash of the event at `at` (cqrs/store/postgres/checkpoints.h).
Statement SaveCheckpointStatement(const std::string& name, cqrs::Position at) {
  return {cqrs::kSaveNamedCheckpointSql, {Param::Text(name), Param::Int(static_cast<std::int64_t>(at.value()))}};
}
}  // namespace

cqrs::Status PgWebhookStore::SaveCheckpoint(cqrs::pg::Connection& conn, const std::string& name, cqrs::Position at) {
  const Statement st = SaveCheckpointStatement(name, at);
  return conn.QueryPrepared(st.text, st.params).status();
}

cqrs::Status PgWebhookStore::CommitFanOut(cqrs::pg::Connection& conn, const std::string& name, cqrs::Position last,
                                          const Derive& derive) {
  ASSIGN_OR_RETURN(auto opened,
                   Transaction(conn, {{"BEGIN"},
                                      {"SELECT pg_advisory_xact_lock($1)", {Param::Int(RegistrationLock())}},
                                      {std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints"}}));
  const std::vector<WebhookDelivery> ds = derive(EndpointRows(opened[2]));
  std::vector<Statement> rest;
  if (!ds.empty()) rest.emplace_back(kInsertDeliveries, DeliveryArrays(ds));
  rest.push_back(SaveCheckpointStatement(name, last));
  rest.push_back({"COMMIT"});
  return Transaction(conn, rest).status();
}

}  // namespace adsd::ads::notify
