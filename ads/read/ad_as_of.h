// The ad as it stood at a past moment, rebuilt from its own stream: the same row the read model
// held then, without the read model.
//
// FoldAdRow applies AdRowChanges (ad_row_change.h) to an in-memory row exactly as the read models'
// SQL does (read_model.cc, pg_read_model.cc): ad_row_fold_test.cc and the read-model equivalence
// test hold them together.
#pragma once

#include <optional>
#include <span>

#include "ads/read/ad_queries.h"
#include "ads/read/ad_row_change.h"
#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace adsd::ads {

// What `change` does to `row` (none before the ad's submission).
void ApplyChange(const AdRowChange& change, std::optional<AdRow>& row);

// A moment of the log: the events at or before a position, or recorded at or before a time.
struct PastPoint {
  std::optional<cqrs::Position> position;
  std::optional<cqrs::TimestampUs> time;
  bool Includes(const cqrs::RecordedEvent& e) const {
    return position ? e.position <= *position : e.timestamp_us <= time.value_or(0);
  }
};

// The row an ad's events (in version order, from version 1) make up to `until`: none when the
// ad did not exist yet. The history is taken up to the first event after the point.
cqrs::Result<std::optional<AdRow>> AdRowAt(std::span<const cqrs::RecordedEvent> events, const PastPoint& until);

}  // namespace adsd::ads
