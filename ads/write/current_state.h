// The write model of one ad: its current content and version, from the tail of its stream.
#pragma once

#include <optional>
#include <string>

#include "ads/events.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

struct CurrentAd {
  events::AdContent content;  // as the last submission or change left it
  cqrs::StreamVersion version;
  bool withdrawn = false;
};

// Reads only the end of the stream, so a command costs the same at version 5 and at version
// 500,000. nullopt when the ad does not exist.
cqrs::Result<std::optional<CurrentAd>> LoadCurrentAd(const cqrs::EventStore& store, const std::string& stream);

}  // namespace adsd::ads
