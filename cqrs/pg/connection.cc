#include "cqrs/pg/connection.h"

#include <charconv>
#include <cstring>

namespace cqrs::pg {

namespace {

// SQLSTATE classes the callers act on.
constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kSerializationFailure = "40001";
constexpr std::string_view kDeadlockDetected = "40P01";

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  explicit ParamArrays(const std::vector<Param>& params) {
    for (const Param& p : params) {
      values.push_back(p.null ? nullptr : p.value.c_str());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
  }
};

bool Succeeded(PGresult* r) {
  const ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_PIPELINE_SYNC;
}

}  // namespace

std::int64_t Rows::Int(int row, int col) const {
  const std::string_view t = Text(row, col);
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

std::string Rows::Bytes(int row, int col) const {
  std::size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

std::int64_t Rows::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& url) {
  // Defaults for what a server that vanishes (a host down, a network partition) would otherwise
  // cost: libpq waits for a TCP connect without limit, and notices a dead peer only when the
  // kernel gives up (hours). The URL's own values win: they come later in the arrays.
  // The server side too (`options`): a session whose client vanished ends within ~25 s, and with
  // it any advisory lock it held (a relay's or a projection's leadership).
  const char* keywords[] = {"connect_timeout",  "keepalives", "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "options",    "dbname",          nullptr};
  const char* values[] = {
      "5",         "1",    "10",
      "5",         "3",    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
      url.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (c == nullptr) return Unavailable("postgres: out of memory opening a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Unavailable("postgres: cannot connect: " + msg);
  }
  auto conn = std::unique_ptr<Connection>(new Connection(c, url));
  // Quiet: NOTICEs (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return conn;
}

Connection::~Connection() { PQfinish(conn_); }

std::string Connection::Option(std::string_view keyword) const {
  PQconninfoOption* options = PQconninfo(conn_);
  std::string out;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (keyword == o->keyword && o->val != nullptr) out = o->val;
  }
  PQconninfoFree(options);
  return out;
}

Status Connection::Reconnect() {
  PQreset(conn_);
  prepared_by_sql_.clear();  // a new session has none
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Unavailable("postgres: cannot reconnect: " + msg);
  }
  return Status::Ok();
}

Status Connection::ErrorOf(PGresult* r, std::string_view what) const {
  std::string msg = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  msg = "postgres: " + std::string(what) + ": " + msg;
  if (PQstatus(conn_) != CONNECTION_OK) return Unavailable(msg);
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return Unavailable(msg);  // no server answer: the connection broke
  if (state == kUniqueViolation) return AlreadyExists(msg);
  if (state == kSerializationFailure || state == kDeadlockDetected) return VersionConflict(msg);
  if (std::string_view(state).starts_with("08") || std::string_view(state).starts_with("57")) {
    return Unavailable(msg);  // connection exception, operator intervention (shutdown)
  }
  return Internal(msg);
}

Status Connection::Exec(std::string_view sql) {
  PGresult* r = PQexec(conn_, std::string(sql).c_str());
  Status st = Succeeded(r) ? Status::Ok() : ErrorOf(r, sql.substr(0, 60));
  PQclear(r);
  return st;
}

Result<Rows> Connection::RowsOf(PGresult* r, std::string_view sql) const {
  if (!Succeeded(r)) {
    Status st = ErrorOf(r, sql.substr(0, 60));
    PQclear(r);
    return st;
  }
  return Rows(r);
}

Result<Rows> Connection::Query(const std::string& sql, const std::vector<Param>& params) {
  ParamArrays a(params);
  PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, a.values.data(),
                             a.lengths.data(), a.formats.data(), 0);
  return RowsOf(r, sql);
}

Result<Rows> Connection::QueryPrepared(const std::string& sql, const std::vector<Param>& params) {
  auto it = prepared_by_sql_.find(sql);
  if (it == prepared_by_sql_.end()) {
    std::string name = "adsd_q" + std::to_string(prepared_by_sql_.size() + 1);
    RETURN_IF_ERROR(Prepare(name, sql));
    it = prepared_by_sql_.emplace(sql, std::move(name)).first;
  }
  ParamArrays a(params);
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), a.values.data(),
                               a.lengths.data(), a.formats.data(), 0);
  return RowsOf(r, sql);
}

Status Connection::Prepare(const std::string& name, const std::string& sql) {
  PGresult* r = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
  Status st = Succeeded(r) ? Status::Ok() : ErrorOf(r, "prepare " + name);
  PQclear(r);
  return st;
}

Result<std::vector<Rows>> Connection::Pipeline(const std::vector<Statement>& statements) {
  if (PQenterPipelineMode(conn_) != 1) return ErrorOf(nullptr, "enter pipeline mode");
  struct Exit {
    PGconn* c;
    ~Exit() { PQexitPipelineMode(c); }
  } exit{conn_};
  for (const Statement& st : statements) {
    ParamArrays a(st.params);
    const int n = static_cast<int>(st.params.size());
    const int sent = st.prepared ? PQsendQueryPrepared(conn_, st.text.c_str(), n, a.values.data(), a.lengths.data(),
                                                       a.formats.data(), 0)
                                 : PQsendQueryParams(conn_, st.text.c_str(), n, nullptr, a.values.data(),
                                                     a.lengths.data(), a.formats.data(), 0);
    if (sent != 1) return ErrorOf(nullptr, "send");
  }
  if (PQpipelineSync(conn_) != 1) return ErrorOf(nullptr, "pipeline sync");
  std::vector<Rows> out;
  Status first_error;
  // Each statement answers with its result followed by a null; the sync point ends the pipeline.
  while (true) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (PQstatus(conn_) != CONNECTION_OK) return ErrorOf(nullptr, "pipeline");
      continue;
    }
    const ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (s == PGRES_PIPELINE_ABORTED) {
      PQclear(r);
      continue;
    }
    if (!Succeeded(r)) {
      // A broken connection may add an error result of its own: name a statement only if any.
      const std::string what = out.size() < statements.size() ? statements[out.size()].text.substr(0, 60) : "pipeline";
      if (first_error.ok()) first_error = ErrorOf(r, what);
      PQclear(r);
      continue;
    }
    if (out.size() == statements.size()) {  // more answers than statements: the stream is confused
      PQclear(r);
      if (first_error.ok()) first_error = Unavailable("postgres: pipeline: unexpected extra result");
      continue;
    }
    out.emplace_back(r);
  }
  if (!first_error.ok()) return first_error;
  return out;
}

Result<std::vector<std::string>> Connection::TakeNotifications() {
  if (PQconsumeInput(conn_) != 1) return ErrorOf(nullptr, "listen");
  std::vector<std::string> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.emplace_back(n->extra);
    PQfreemem(n);
  }
  return out;
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace cqrs::pg
