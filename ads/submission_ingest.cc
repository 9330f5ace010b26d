#include "ads/submission_ingest.h"

#include "ads/events.h"
#include "ads/write/idempotency.h"

namespace adsd::ads {

SubmissionIngest::SubmissionIngest(cqrs::EventStore& store, ValidationWorker& worker, SubmissionIngestOptions options)
    : store_(store), worker_(worker), options_(std::move(options)) {}

void SubmissionIngest::Count(std::string_view outcome) const {
  if (options_.on_outcome) options_.on_outcome(outcome);
}

void SubmissionIngest::Consume(const cqrs::RecordedEvent& submission, cqrs::consumer::Delivery delivery,
                               cqrs::consumer::Completion done) {
  if (submission.type != events::kSubmitted || !events::AdIdOf(submission.stream)) {
    Count("invalid");
    return done(cqrs::Status::Ok());  // not ours to store: settled, never retried
  }
  cqrs::EventData event;
  event.event_id = submission.event_id;
  event.type = submission.type;
  event.schema_version = submission.schema_version;
  event.payload = submission.payload;
  event.metadata = submission.metadata;
  event.correlation_id = submission.correlation_id;
  event.causation_id = submission.causation_id;
  event.timestamp_us = submission.timestamp_us;  // the time the write process accepted it
  const LatencyModel* latency = options_.latency;
  if (latency != nullptr && latency->enabled()) {
    // Modeled steps sleep: a lane may wait (the paper benchmark).
    const auto began = LatencyModel::Clock::now();
    auto r = store_.Append(submission.stream, cqrs::ExpectedVersion::NoStream(), std::span(&event, 1));
    latency->Pad(Step::kStoreIncomingRecord, began);
    return Judge(submission, r, delivery, std::move(done));
  }
  store_.AppendAsync(submission.stream, cqrs::ExpectedVersion::NoStream(), std::span(&event, 1),
                     [this, submission, delivery, done = std::move(done)](cqrs::Result<cqrs::AppendResult> r) mutable {
                       Judge(std::move(submission), r, delivery, std::move(done));
                     });
}

void SubmissionIngest::Judge(cqrs::RecordedEvent submission, const cqrs::Result<cqrs::AppendResult>& stored,
                             cqrs::consumer::Delivery delivery, cqrs::consumer::Completion done) {
  if (!stored.ok()) {
    if (stored.status().code() == cqrs::StatusCode::kVersionConflict) {
      // The stream holds another first event: this submission can never be stored.
      Count("invalid");
      return done(cqrs::Status::Ok());
    }
    return done(stored.status());  // the store is down: retried
  }
  if (stored->idempotent_replay) {
    const bool same_request =
        stored->original && RequestHash(stored->original->metadata) == RequestHash(submission.metadata);
    if (!same_request) {
      Count("key_conflict");
      return done(cqrs::Status::Ok());
    }
    Count("redelivered");
    delivery = cqrs::consumer::Delivery::kMaybeRepeated;  // its verdict may be stored already
  } else {
    Count("stored");
  }
  submission.position = stored->last_position;
  submission.version = stored->last_version;
  worker_.Consume(submission, delivery, std::move(done));
}

}  // namespace adsd::ads
