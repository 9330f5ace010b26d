#include "ads/ad_queries.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <map>

#include "ads/read_model.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::ads {

namespace {

// One read-only connection per thread and database file, reopened when the file was replaced,
// with its statements prepared once (preparing cost as much as running a point query).
cqrs::Result<cqrs::sql::Statement*> Prepared(const std::filesystem::path& path, std::uint64_t generation,
                                             int which, const std::string& sql) {
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

constexpr std::string_view kColumns =
    "ad_id, retailer, status, ad_json, reasons_json, version, position, created_us, updated_us, decided_us";

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

cqrs::Result<std::optional<AdRow>> AdQueries::Get(const std::string& ad_id) const {
  ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Prepared(db_, generation_.load(), 1,
                                                      "SELECT " + std::string(kColumns) + " FROM ads WHERE ad_id = ?"));
  st->Bind(1, ad_id);
  ASSIGN_OR_RETURN(auto rows, All(*st));
  if (rows.empty()) return std::optional<AdRow>();
  return std::optional<AdRow>(std::move(rows.front()));
}

cqrs::Result<std::vector<AdRow>> AdQueries::List(const std::string& retailer, const std::optional<std::string>& status,
                                                 int limit, const std::optional<Cursor>& after) const {
  ASSIGN_OR_RETURN(cqrs::sql::Statement * st, Prepared(db_, generation_.load(), 2,
      "SELECT " + std::string(kColumns) + " FROM ads WHERE retailer = ?1 AND (?2 IS NULL OR status = ?2) "
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

std::string CursorOf(const AdRow& row) { return std::to_string(row.created_us) + "_" + row.ad_id; }

std::optional<AdQueries::Cursor> ParseCursor(std::string_view text) {
  const auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 19) return std::nullopt;
  std::int64_t us = 0;
  for (char c : text.substr(0, sep)) {
    if (c < '0' || c > '9') return std::nullopt;
    us = us * 10 + (c - '0');
  }
  const std::string_view id = text.substr(sep + 1);
  if (id.size() != 36) return std::nullopt;
  return AdQueries::Cursor{us, std::string(id)};
}

cqrs::Result<std::vector<AdRow>> AdQueries::DecidedOn(const std::string& retailer, const std::string& day) const {
  ASSIGN_OR_RETURN(cqrs::sql::Statement * st,
                   Prepared(db_, generation_.load(), 3,
                            "SELECT " + std::string(kColumns) +
                                " FROM ads WHERE retailer = ? AND decided_day = ? ORDER BY decided_us, ad_id"));
  st->Bind(1, retailer).Bind(2, day);
  return All(*st);
}

std::string AdRowJson(const AdRow& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartObject();
  str("ad_id", r.ad_id);
  str("retailer", r.retailer);
  str("status", r.status);
  w.Key("reasons");
  w.RawValue(r.reasons_json.data(), r.reasons_json.size(), rapidjson::kArrayType);
  w.Key("version");
  w.Int64(r.version);
  w.Key("position");
  w.Int64(r.position);
  str("created_at", Rfc3339(r.created_us));
  str("updated_at", Rfc3339(r.updated_us));
  w.Key("decided_at");
  if (r.decided_us) {
    const std::string d = Rfc3339(*r.decided_us);
    w.String(d.data(), static_cast<rapidjson::SizeType>(d.size()));
  } else {
    w.Null();
  }
  w.Key("ad");
  w.RawValue(r.ad_json.data(), r.ad_json.size(), rapidjson::kObjectType);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

namespace {

std::string CsvField(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// "code (field): message; …" from the reasons JSON.
std::string ReasonsText(const std::string& reasons_json) {
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  simdjson::padded_string padded(reasons_json);
  if (parser.parse(padded).get_array().get(arr)) return "";
  std::string out;
  for (simdjson::dom::element e : arr) {
    std::string_view code, field, message;
    if (e["code"].get(code) || e["field"].get(field) || e["message"].get(message)) continue;
    if (!out.empty()) out += "; ";
    out += std::string(code) + " (" + std::string(field) + "): " + std::string(message);
  }
  return out;
}

}  // namespace

std::string DailyReportCsv(const std::vector<AdRow>& rows) {
  std::string out = "ad_id,status,decided_at,title,landing_url,reasons\r\n";
  simdjson::dom::parser parser;
  for (const AdRow& r : rows) {
    std::string_view title, url;
    simdjson::padded_string padded(r.ad_json);
    simdjson::dom::element ad;
    if (!parser.parse(padded).get(ad)) {
      if (ad["title"].get(title)) title = {};
      if (ad["landing_url"].get(url)) url = {};
    }
    out += CsvField(r.ad_id) + "," + CsvField(r.status) + "," + CsvField(r.decided_us ? Rfc3339(*r.decided_us) : "") +
           "," + CsvField(title) + "," + CsvField(url) + "," + CsvField(ReasonsText(r.reasons_json)) + "\r\n";
  }
  return out;
}

}  // namespace adsd::ads
