#include "ads/read/ad_queries.h"

#include <simdjson.h>

#include <limits>

#include "ads/json_writer.h"
#include "ads/read/read_model.h"
#include "cqrs/core/time.h"

namespace adsd::ads {

std::string CursorOf(const AdRow& row) { return std::to_string(row.created_us) + "_" + row.ad_id; }

std::optional<AdQueries::Cursor> ParseCursor(std::string_view text) {
  const auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 19) return std::nullopt;
  std::int64_t us = 0;
  for (char c : text.substr(0, sep)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (us > (std::numeric_limits<std::int64_t>::max() - (c - '0')) / 10) return std::nullopt;  // overflow
    us = us * 10 + (c - '0');
  }
  const std::string_view id = text.substr(sep + 1);
  if (id.size() != 36) return std::nullopt;
  return AdQueries::Cursor{us, std::string(id)};
}

std::string AdRowJson(const AdRow& r) {
  JsonWriter w;
  auto str = [&](const char* key, const std::string& v) { w.Field(key, v); };
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
  str("created_at", cqrs::FormatRfc3339(r.created_us, cqrs::TimePrecision::kMillis));
  str("updated_at", cqrs::FormatRfc3339(r.updated_us, cqrs::TimePrecision::kMillis));
  w.Key("decided_at");
  if (r.decided_us) {
    w.String(std::string_view(cqrs::FormatRfc3339(*r.decided_us, cqrs::TimePrecision::kMillis)));
  } else {
    w.Null();
  }
  w.Key("ad");
  w.RawValue(r.ad_json.data(), r.ad_json.size(), rapidjson::kObjectType);
  w.EndObject();
  return w.Text();
}

namespace {

// A spreadsheet runs a cell that starts with = + - @ (or a tab or CR before one) as a formula:
// a retailer's title could then compute, link or call out in the reader's spreadsheet (OWASP
// "CSV injection"). Such a value is prefixed with a single quote, which spreadsheets show as
// text; the cell is quoted too, so that the quote survives tools that strip leading spaces.
bool StartsLikeAFormula(std::string_view v) {
  return !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r');
}

std::string CsvField(std::string_view v) {
  const bool formula = StartsLikeAFormula(v);
  if (!formula && v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = formula ? "\"'" : "\"";
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
    out += CsvField(r.ad_id) + "," + CsvField(r.status) + "," +
           CsvField(r.decided_us ? cqrs::FormatRfc3339(*r.decided_us, cqrs::TimePrecision::kMillis) : "") + "," +
           CsvField(title) + "," + CsvField(url) + "," + CsvField(ReasonsText(r.reasons_json)) + "\r\n";
  }
  return out;
}

}  // namespace adsd::ads
