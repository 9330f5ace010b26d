// SqliteAdQueries: the Read API's queries on the SQLite read model in a process's data directory.
//
// Each thread gets its own read-only connection (WAL lets them read while the projection writes).
#pragma once

#include <atomic>
#include <filesystem>

#include "ads/read/ad_queries.h"

namespace adsd::ads {

class SqliteAdQueries final : public AdQueries {
 public:
  explicit SqliteAdQueries(std::filesystem::path db) : db_(std::move(db)) {}

  // Makes every thread open a new connection at its next query: after the file was replaced.
  void Reopen() { generation_.fetch_add(1); }

  // Whether the file can be read now, on a connection of its own (the threads' connections keep
  // pages cached, and would not see a file damaged under them). The error is SQLite's own words,
  // without the path or the SQL: /readyz shows it to anyone.
  cqrs::Status Probe() const;

  cqrs::Result<std::optional<AdRow>> Get(const std::string& ad_id) const override;
  cqrs::Result<std::vector<AdRow>> List(const std::string& retailer, const std::optional<std::string>& status,
                                        int limit, const std::optional<Cursor>& after) const override;
  cqrs::Result<std::vector<AdRow>> DecidedOn(const std::string& retailer, const std::string& day) const override;

 private:
  std::filesystem::path db_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace adsd::ads
