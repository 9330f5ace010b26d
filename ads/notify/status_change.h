// StatusChange: one change of an ad's status as retailers are told of it (webhooks and the live
// stream), decoded from the ad's events in the log.
//
//   AdSubmitted -> ad.submitted (pending)     AdApproved  -> ad.approved (approved)
//   AdChanged   -> ad.changed   (pending)     AdRejected  -> ad.rejected (rejected)
//   AdWithdrawn -> ad.withdrawn (withdrawn)
//
// Its JSON (the webhook body and the stream's `data:`):
//   {"type":"ad.rejected","ad_id":"0190…","status":"rejected","reasons":[{"code",…}],
//    "version":2,"position":17,"occurred_at":"2026-12-02T11:43:31.123Z"}
//
// Verdicts do not name the retailer; StatusChanges finds it from the ad's first event (and keeps
// a bounded cache of ad -> retailer, filled from the submissions it sees).
// Thread-safety: StatusChanges is safe from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cqrs/core/mutex.h"
#include "cqrs/core/status.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads::notify {

struct StatusChange {
  std::string type;      // "ad.approved"
  std::string ad_id;     // canonical UUID text
  std::string retailer;  // the ad's owner (not in the JSON: the receiver knows who it is)
  std::string status;    // pending | approved | rejected | withdrawn
  std::string reasons_json = "[]";
  std::uint64_t version = 0;
  cqrs::Position position;
  cqrs::TimestampUs occurred_at_us = 0;

  std::string ToJson() const;
};

// The types a subscriber may ask for.
inline constexpr std::string_view kChangeTypes[] = {"ad.submitted", "ad.changed", "ad.approved", "ad.rejected",
                                                    "ad.withdrawn"};
bool IsChangeType(std::string_view type);

class StatusChanges {
 public:
  // `store` must outlive this object.
  explicit StatusChanges(const cqrs::EventStore& store, std::size_t cache_size = 100'000)
      : store_(store), cache_size_(cache_size) {}

  // The status change an event is, nullopt for events that are not one (other streams, types);
  // an error when its retailer cannot be found (kUnavailable: the store could not be read).
  cqrs::Result<std::optional<StatusChange>> Decode(const cqrs::RecordedEvent& e) EXCLUDES(mu_);

 private:
  cqrs::Result<std::string> RetailerOf(const cqrs::RecordedEvent& e) EXCLUDES(mu_);
  void Remember(const std::string& ad_id, const std::string& retailer) EXCLUDES(mu_);

  const cqrs::EventStore& store_;
  const std::size_t cache_size_;
  cqrs::Mutex mu_;
  std::list<std::string> order_ GUARDED_BY(mu_);  // ad ids, oldest first (FIFO eviction)
  std::unordered_map<std::string, std::string> retailers_ GUARDED_BY(mu_);
};

}  // namespace adsd::ads::notify
