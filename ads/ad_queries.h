// AdQueries: the Read API's queries on the ads read model, and their JSON and CSV forms.
//
// Thread-safety: safe from any number of threads; each thread gets its own read-only SQLite
// connection (WAL lets them read while the projection writes).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
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
  explicit AdQueries(std::filesystem::path db) : db_(std::move(db)) {}

  // Makes every thread open a new connection at its next query: after the file was replaced.
  void Reopen() { generation_.fetch_add(1); }

  cqrs::Result<std::optional<AdRow>> Get(const std::string& ad_id) const;
  // Where a page of a listing ends: the last row's submission time and id.
  struct Cursor {
    std::int64_t created_us;
    std::string ad_id;
  };
  // A retailer's ads, newest first (submission time, then id); `status` filters; `after` is
  // the previous page's last row.
  cqrs::Result<std::vector<AdRow>> List(const std::string& retailer, const std::optional<std::string>& status,
                                        int limit, const std::optional<Cursor>& after) const;
  // A retailer's ads decided on `day` (YYYY-MM-DD, UTC), in decision order.
  cqrs::Result<std::vector<AdRow>> DecidedOn(const std::string& retailer, const std::string& day) const;

 private:
  std::filesystem::path db_;
  std::atomic<std::uint64_t> generation_{0};
};

// The opaque cursor text for a row ("<created_us>_<ad_id>"), and back.
std::string CursorOf(const AdRow& row);
std::optional<AdQueries::Cursor> ParseCursor(std::string_view text);

// {"ad_id", "retailer", "status", "reasons", "version", "position", "created_at", "updated_at",
//  "decided_at", "ad"}
std::string AdRowJson(const AdRow& row);
// RFC 4180: header line, CRLF line ends, fields quoted when they hold , " CR or LF.
std::string DailyReportCsv(const std::vector<AdRow>& rows);

}  // namespace adsd::ads
