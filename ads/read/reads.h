// The Read API's queries and their outcomes, free of HTTP: the mirror of ads/write/commands.h.
//
// The HTTP routes (app/adsd/read_routes.cc) turn a request into one of these queries, hand it to
// an AdReads implementation, and turn the outcome into an answer; everything in between (who may
// see which ad, read-your-writes waits, paging, the history from the event store) lives behind
// this interface (ads/read/read_handler.h).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ads/read/ad_as_of.h"
#include "ads/read/ad_queries.h"
#include "ads/sender.h"
#include "cqrs/core/types.h"
#include "cqrs/core/uuid.h"
#include "cqrs/store/event.h"

namespace adsd::ads {

// One ad and its verdict. With min_position or min_version, the answer waits (holding no thread)
// up to `wait` for the read model to show that write: read-your-writes. With `as_of`, the ad as
// it stood at that past moment, rebuilt from its stream in the event store (the read model is
// not asked; kNotFound before the ad existed; kInvalid, field at_position, for a position past
// the log's head).
struct GetAd {
  Sender sender;
  cqrs::Uuid ad_id;
  std::optional<cqrs::Position> min_position;
  std::optional<cqrs::StreamVersion> min_version;
  std::chrono::milliseconds wait{1000};
  std::optional<PastPoint> as_of;
};

// A retailer's ads, newest first, a page at a time. A retailer lists its own ads; an admin names
// the retailer.
struct ListAds {
  Sender sender;
  std::optional<std::string> retailer;  // an admin's choice; ignored for a retailer
  std::optional<std::string> status;    // pending, approved, rejected or withdrawn
  int limit = 50;                       // 1-500
  std::optional<AdQueries::Cursor> after;
};

struct AdPage {
  std::vector<AdRow> items;
  std::optional<std::string> next_cursor;  // none on the last page
};

// An ad's events from the event store, `limit` after version `after` (the audit trail).
struct GetHistory {
  Sender sender;
  cqrs::Uuid ad_id;
  cqrs::StreamVersion after{0};
  std::uint64_t limit = 1000;  // 1-10000
};

struct AdHistory {
  std::string ad_id;  // canonical (lower-case) form
  std::vector<cqrs::RecordedEvent> events;
  std::optional<cqrs::StreamVersion> next_cursor;  // none on the last page
};

// A retailer's ads decided on a UTC day (the daily report's rows), as ListAds names the retailer.
struct GetDailyReport {
  Sender sender;
  std::optional<std::string> retailer;
  std::string day;  // YYYY-MM-DD (anything else is kInvalid)
};

struct DailyReport {
  std::string retailer;
  std::string day;
  std::vector<AdRow> rows;
};

// Why a query has no answer. Nothing is changed by a query, whatever its outcome.
enum class ReadFailureCode {
  kInvalid,      // a parameter is wrong: `field` says which
  kNotFound,     // no such ad, or another retailer's
  kBehind,       // the read model has not shown the asked-for write within the wait
  kUnavailable,  // the read model or the store could not be read
  kOverloaded,   // too many reads wait already
};

struct ReadFailure {
  ReadFailureCode code;
  std::string detail;
  std::string field;  // kInvalid: the parameter at fault
};

template <typename T>
using ReadResult = std::variant<T, ReadFailure>;
// Called exactly once, on any thread; it must not block.
using GetAdDone = std::function<void(ReadResult<AdRow>)>;

// Thread-safety: implementations are safe from any number of threads.
class AdReads {
 public:
  virtual ~AdReads() = default;
  // Asynchronous: a read-your-writes wait must not hold a thread.
  virtual void Get(GetAd query, GetAdDone done) const = 0;
  virtual ReadResult<AdPage> List(const ListAds& query) const = 0;
  virtual ReadResult<AdHistory> History(const GetHistory& query) const = 0;
  virtual ReadResult<DailyReport> Report(const GetDailyReport& query) const = 0;
};

}  // namespace adsd::ads
