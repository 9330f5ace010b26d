// A PostgreSQL connection (libpq) with the few operations the engine needs: statements with
// parameters, results with RAII, pipelines (many statements, one round trip) and LISTEN.
//
// Errors map onto cqrs::Status: a lost or refused connection is kUnavailable (retry later, after
// Reconnect()), a unique violation kAlreadyExists, a serialization failure kVersionConflict, and
// anything else kInternal with the server's message. A Connection is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cqrs/core/status.h"

namespace cqrs::pg {

// One statement parameter: text (the server parses it as the type of its $N), binary bytes
// (for bytea), or NULL.
struct Param {
  static Param Text(std::string v) { return Param{std::move(v), false, false}; }
  static Param Bytes(std::string v) { return Param{std::move(v), true, false}; }
  static Param Null() { return Param{{}, false, true}; }
  static Param Int(std::int64_t v) { return Text(std::to_string(v)); }

  std::string value;
  bool binary = false;
  bool null = false;
};

// One statement of a pipeline: SQL text, or the name of a statement prepared on the connection.
struct Statement {
  Statement(std::string sql, std::vector<Param> p = {}) : text(std::move(sql)), params(std::move(p)) {}
  static Statement Prepared(std::string name, std::vector<Param> p = {}) {
    Statement s(std::move(name), std::move(p));
    s.prepared = true;
    return s;
  }
  std::string text;
  std::vector<Param> params;
  bool prepared = false;
};

// The rows of a finished statement. Values come back in text format (bytea as its hex text: use
// Bytes()).
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool empty() const { return size() == 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view Text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::int64_t Int(int row, int col) const;
  // A bytea column, decoded from its text form.
  std::string Bytes(int row, int col) const;
  // Rows affected by an INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

 private:
  std::shared_ptr<PGresult> r_;
};

class Connection {
 public:
  // `url`: postgresql://user@host:port/db (any libpq connection string). Unless the URL says
  // otherwise: connect_timeout=5 and TCP keepalives (idle 10 s, every 5 s, 3 probes) on both
  // ends, so that a server that vanishes is an error within seconds rather than a wait without
  // end, and the server ends the session of a client that vanished (releasing its locks).
  static Result<std::unique_ptr<Connection>> Open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without parameters.
  Status Exec(std::string_view sql);
  Result<Rows> Query(const std::string& sql, const std::vector<Param>& params = {});
  // The same, through a statement prepared on this connection at the first use of `sql` (for
  // queries run often: the server plans them once per connection, not per call).
  Result<Rows> QueryPrepared(const std::string& sql, const std::vector<Param>& params = {});

  // Several statements sent at once and answered in one round trip (libpq pipeline mode). The
  // results come back in order; the first failure is returned and the statements after it were
  // not run (the server aborts the rest of the pipeline up to its sync point).
  Result<std::vector<Rows>> Pipeline(const std::vector<Statement>& statements);
  // Prepares `sql` under `name` on this connection (planned once; lost on Reconnect()).
  Status Prepare(const std::string& name, const std::string& sql);

  // LISTEN support: the socket to poll, and the notifications received so far (payloads).
  int socket() const { return PQsocket(conn_); }
  Result<std::vector<std::string>> TakeNotifications();

  // Whether the server connection is still usable; Reconnect() opens it again after a failure.
  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  Status Reconnect();
  const std::string& url() const { return url_; }
  // A connection setting in effect (PQconninfo), e.g. "connect_timeout"; empty if unset.
  std::string Option(std::string_view keyword) const;

 private:
  Connection(PGconn* c, std::string url) : conn_(c), url_(std::move(url)) {}
  Status ErrorOf(PGresult* r, std::string_view what) const;
  // The rows of a finished statement, or its error (and `r` freed).
  Result<Rows> RowsOf(PGresult* r, std::string_view sql) const;

  PGconn* conn_;
  std::string url_;
  std::map<std::string, std::string, std::less<>> prepared_by_sql_;  // QueryPrepared's: SQL -> name
};

// "a","b" as a PostgreSQL array literal: {"a","b"} (for = ANY($1::text[])).
std::string ArrayLiteral(const std::vector<std::string>& values);

}  // namespace cqrs::pg
