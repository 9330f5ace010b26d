// Submissions that reach the event store through the bus: the optimized pipeline in the
// distributed shape (`--pipeline async` with `--bus`) publishes an AdSubmitted event to Kafka
// before anything stores it, and the workers store it on arrival (ads/submission_ingest.h).
//
// Such a submission travels on its own topic, `<events topic>.submissions`, and carries
// `"ingest":"bus"` in its metadata, so that once it is stored (and the relay copies it to the
// events topic like every other event) the validators of the events topic leave it to the
// ingest consumer, which judges it as soon as it stored it.
#pragma once

#include <string>
#include <string_view>

#include "cqrs/store/event.h"

namespace adsd::ads {

// "adsd.events" -> "adsd.events.submissions".
std::string SubmissionsTopic(std::string_view events_topic);

// `metadata` (a JSON object, or empty) with "ingest":"bus" added.
std::string MarkCameThroughBus(std::string_view metadata);

// Whether `e` was published first and stored by the ingest consumer.
bool CameThroughBus(const cqrs::RecordedEvent& e);

}  // namespace adsd::ads
