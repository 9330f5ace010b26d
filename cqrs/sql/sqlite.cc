#include "cqrs/sql/sqlite.h"

#include <sqlite3.h>

namespace cqrs::sql {

namespace {

Status SqlError(sqlite3* db, std::string_view what, int rc) {
  std::string m(what);
  m += ": ";
  m += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Unavailable(std::move(m));
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Corruption(std::move(m));
  if (rc == SQLITE_CONSTRAINT) return AlreadyExists(std::move(m));
  return IoError(std::move(m));
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::filesystem::path& path, const OpenOptions& options) {
  sqlite3* db = nullptr;
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Database> out(new Database(db));
  if (rc != SQLITE_OK) return SqlError(db, "open " + path.string(), rc);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 0);
  if (!options.read_only) {
    RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(
        out->Exec(options.durability == Durability::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(out->Exec("PRAGMA cache_size=-" + std::to_string(options.cache_kib)));
  }
  RETURN_IF_ERROR(out->Exec("PRAGMA foreign_keys=ON"));
  return out;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqlError(nullptr, text.substr(0, 80) + ": " + m, rc);
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqlError(db_, "prepare " + std::string(sql.substr(0, 80)), rc);
  return Statement(stmt, db_);
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    db_ = o.db_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqlError(db_, "bind", rc);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqlError(db_, "bind", rc);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqlError(db_, "bind", rc);
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqlError(db_, "bind", rc);
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqlError(db_, std::string("step ") + sqlite3_sql(stmt_), rc);
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string_view Statement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::optional<std::int64_t> Statement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return std::string(Text(col));
}

Result<Transaction> Transaction::Begin(Database& db) {
  RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Database* db = db_;
  db_ = nullptr;
  return db->Exec("COMMIT");
}

}  // namespace cqrs::sql
