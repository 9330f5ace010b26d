// AdRowChange: what one event does to its ad's read-model row, whichever database holds it.
//
// The read models (SQLite: read_model.h, PostgreSQL: pg_read_model.h) turn a change into their
// own SQL; the decision of what changes, and the parsing of the payload, live here once. Every
// update applies only to a row at an older version than the event (idempotent on its own).
#pragma once

#include <optional>
#include <string>

#include "cqrs/core/status.h"
#include "cqrs/store/event.h"

namespace adsd::ads {

struct AdRowChange {
  enum class Kind {
    kSubmitted,  // insert the row, pending (if absent)
    kChanged,    // new content, back to pending, verdict cleared
    kDecided,    // status approved|rejected, reasons, decision time and day
    kWithdrawn,  // status withdrawn
  };
  Kind kind;
  std::string ad_id;
  std::int64_t version = 0;
  std::int64_t position = 0;
  std::int64_t at_us = 0;    // the event's timestamp
  std::string retailer;      // kSubmitted
  std::string ad_json;       // kSubmitted, kChanged
  std::string status;        // kDecided: "approved" | "rejected"
  std::string reasons_json;  // kDecided
  std::string decided_day;   // kDecided: YYYY-MM-DD (UTC) of at_us
};

// The change `event` makes; nullopt for events that are not about an ad's row. An error when the
// payload cannot be read (the runner parks the stream).
cqrs::Result<std::optional<AdRowChange>> AdRowChangeOf(const cqrs::RecordedEvent& event);

}  // namespace adsd::ads
