// AdQueries: the Read API's queries on the ads read model, and their JSON and CSV forms.
//
// Two implementations answer alike: SqliteAdQueries (sqlite_ad_queries.h, the read model a
// process keeps in its data directory) and PgAdQueries (pg_ad_queries.h, a read model shared in
// PostgreSQL). Thread-safety: safe from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::ads {

struct AdRow {
  std::string ad_id, retailer, status, ad_json, reasons_json;
  std::int64_t version = 0, position = 0, created_us = 0, updated_us = 0;
  std::optional<std::int64_t> decided_us;
};

class AdQueries {
 public:
  virtual ~AdQueries() = default;

  virtual cqrs::Result<std::optional<AdRow>> Get(const std::string& ad_id) const = 0;
  // Where a page of a listing ends: the last row's submission time and id.
  struct Cursor {
    std::int64_t created_us;
    std::string ad_id;
  };
  // A retailer's ads, newest first (submission time, then id, in byte order); `status` filters;
  // `after` is the previous page's last row.
  virtual cqrs::Result<std::vector<AdRow>> List(const std::string& retailer, const std::optional<std::string>& status,
                                                int limit, const std::optional<Cursor>& after) const = 0;
  // A retailer's ads decided on `day` (YYYY-MM-DD, UTC), in decision order (then id).
  virtual cqrs::Result<std::vector<AdRow>> DecidedOn(const std::string& retailer, const std::string& day) const = 0;
};

// The columns every implementation selects, in AdRow's order.
inline constexpr std::string_view kAdRowColumns =
    "ad_id, retailer, status, ad_json, reasons_json, version, position, created_us, updated_us, decided_us";

// The opaque cursor text for a row ("<created_us>_<ad_id>"), and back.
std::string CursorOf(const AdRow& row);
std::optional<AdQueries::Cursor> ParseCursor(std::string_view text);

// {"ad_id", "retailer", "status", "reasons", "version", "position", "created_at", "updated_at",
//  "decided_at", "ad"}
std::string AdRowJson(const AdRow& row);
// RFC 4180: header line, CRLF line ends, fields quoted when they hold , " CR or LF. A field that
// starts with = + - @ tab or CR gets a leading single quote (and quotes), so that no spreadsheet
// runs it as a formula (OWASP "CSV injection").
std::string DailyReportCsv(const std::vector<AdRow>& rows);

}  // namespace adsd::ads
