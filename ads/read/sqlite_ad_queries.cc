#include "ads/read/sqlite_ad_queries.h"

#include <sqlite3.h>

#include <map>

#include "cqrs/sql/sqlite.h"

namespace adsd::ads {

namespace {

// One read-only connection per thread and database file, reopened when the file was replaced,
// with its statements prepared once (preparing cost as much as running a point query).
cqrs::Result<cqrs::sql::Statement*> Prepared(const std::filesystem::path& path, std::uint64_t generation, int which,
                                             const std::string& sql) {
  struct Slot {
    std::uint64_t generation = 0;
    std::unique_ptr<cqrs::sql::Database> db;
    std::map<int, cqrs::sql::Statement> statements;  // declared after db: finalized before it closes
  };
  thread_local std::map<std::string, Slot> connections;
  Slot& slot = connections[path.string()];
  if (!slot.db || slot.generation != generation) {
    slot.statements.clear();
    slot.db.reset();
    cqrs::sql::OpenOptions o;
    o.read_only = true;
    ASSIGN_OR_RETURN(slot.db, cqrs::sql::Database::Open(path, o));
    slot.generation = generation;
  }
  auto it = slot.statements.find(which);
  if (it == slot.statements.end()) {
    ASSIGN_OR_RETURN(auto st, slot.db->Prepare(sql));
    it = slot.statements.emplace(which, std::move(st)).first;
  }
  it->second.Reset();
  return &it->second;
}

AdRow ReadRow(const cqrs::sql::Statement& st) {
  AdRow r;
  r.ad_id = st.Text(0);
  r.retailer = st.Text(1);
  r.status = st.Text(2);
  r.ad_json = st.Text(3);
  r.reasons_json = st.Text(4);
  r.version = st.Int(5);
  r.position = st.Int(6);
  r.created_us = st.Int(7);
  r.updated_us = st.Int(8);
  r.decided_us = st.OptInt(9);
  return r;
}

cqrs::Result<std::vector<AdRow>> All(cqrs::sql::Statement& st) {
  std::vector<AdRow> out;
  while (true) {
    auto row = st.Step();
    if (!row.ok() || !*row) {
      st.Reset();  // ends the read transaction: an open one would hold back WAL checkpoints
      if (!row.ok()) return row.status();
      return out;
    }
    out.push_back(ReadRow(st));
  }
}

}  // namespace

cqrs::Result<std::optional<AdRow>> SqliteAdQueries::Get(const std::string& ad_id) const {
  ASSIGN_OR_RETURN(
      cqrs::sql::Statement * st,
      Prepared(db_, generation_.load(), 1, "SELECT " + std::string(kAdRowColumns) + " FROM ads WHERE ad_id = ?"));
  st->Bind(1, ad_id);
  ASSIGN_OR_RETURN(auto rows, All(*st));
  if (rows.empty()) return std::optional<AdRow>();
  return std::optional<AdRow>(std::move(rows.front()));
}

cqrs::Result<std::vector<AdRow>> SqliteAdQueries::List(const std::string& retailer,
                                                       const std::optional<std::string>& status, int limit,
                                                       const std::optional<Cursor>& after) const {
  ASSIGN_OR_RETURN(
      cqrs::sql::Statement * st,
      Prepared(db_, generation_.load(), 2,
               "SELECT " + std::string(kAdRowColumns) +
                   " FROM ads WHERE retailer = ?1 AND (?2 IS NULL OR status = ?2) "
                   "AND (?3 IS NULL OR (created_us, ad_id) < (?3, ?4)) ORDER BY created_us DESC, ad_id DESC LIMIT ?5"));
  st->Bind(1, retailer).Bind(2, status);
  if (after) {
    st->Bind(3, after->created_us).Bind(4, after->ad_id);
  } else {
    st->BindNull(3).BindNull(4);
  }
  st->Bind(5, static_cast<std::int64_t>(limit));
  return All(*st);
}

cqrs::Result<std::vector<AdRow>> SqliteAdQueries::DecidedOn(const std::string& retailer, const std::string& day) const {
  ASSIGN_OR_RETURN(cqrs::sql::Statement * st,
                   Prepared(db_, generation_.load(), 3,
                            "SELECT " + std::string(kAdRowColumns) +
                                " FROM ads WHERE retailer = ? AND decided_day = ? ORDER BY decided_us, ad_id"));
  st->Bind(1, retailer).Bind(2, day);
  return All(*st);
}

cqrs::Status SqliteAdQueries::Probe() const {
  if (!std::filesystem::exists(db_)) return cqrs::NotFound("the file is missing");
  cqrs::sql::OpenOptions o;
  o.read_only = true;
  o.busy_timeout_ms = 10;  // /readyz answers on a network thread
  auto db = cqrs::sql::Database::Open(db_, o);
  if (!db.ok()) return cqrs::IoError("cannot open the file");
  // Reads the schema (page 1) and the table's first page: what any query needs first.
  auto st = (*db)->Prepare("SELECT ad_id FROM ads LIMIT 1");
  if (st.ok()) {
    auto row = st->Step();
    if (row.ok()) return cqrs::Status::Ok();
  }
  return cqrs::IoError(sqlite3_errmsg((*db)->raw()));
}

}  // namespace adsd::ads
