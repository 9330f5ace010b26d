// Thin RAII wrappers over SQLite: a connection, prepared statements, transactions.
//
// Errors come back as Status values naming the SQL that failed. A Database is one connection:
// use it from one thread at a time (SQLite's "multi-thread" mode); open one connection per
// thread that needs one. WAL mode lets one writer and many readers work at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cqrs::sql {

enum class Durability {
  kFull,    // synchronous=FULL: a committed transaction survives power loss
  kNormal,  // synchronous=NORMAL in WAL: survives a process crash; the last commits may be lost
            // on power loss. Fine for read models, which are rebuilt from the log.
};

struct OpenOptions {
  bool read_only = false;
  Durability durability = Durability::kNormal;
  int busy_timeout_ms = 5000;
  // Page cache of a writable connection. SQLite's default (2 MiB) makes a batch that touches
  // several indexes spill dirty pages to the WAL mid-transaction, which cost read-model updates
  // 40 % of their time.
  int cache_kib = 64 * 1024;
};

class Statement;

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::filesystem::path& path, const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  std::int64_t changes() const;
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// A prepared statement. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Statement {
 public:
  Statement(Statement&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, const std::optional<std::int64_t>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }
  Statement& Bind(int index, const std::optional<std::string>& value) {
    return value ? Bind(index, std::string_view(*value)) : BindNull(index);
  }
  // Binds `values` to parameters 1, 2, ... in order.
  template <typename... T>
  Statement& BindAll(const T&... values) {
    int index = 0;
    (Bind(++index, values), ...);
    return *this;
  }

  // True while a row is available; false when done.
  Result<bool> Step();
  // Steps to completion of a statement that returns no rows.
  Status Run();
  // Clears bindings and rewinds, for reuse.
  void Reset();

  bool IsNull(int col) const;
  std::int64_t Int(int col) const;
  std::string_view Text(int col) const;  // valid until the next Step/Reset
  std::optional<std::int64_t> OptInt(int col) const;
  std::optional<std::string> OptText(int col) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  Status bind_error_;
};

// BEGIN IMMEDIATE … COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(Database& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // null once committed or moved from
};

}  // namespace cqrs::sql
