// SubmissionIngest: the workers' side of the optimized pipeline on the bus. A consumer handler
// for the submissions topic (ads/bus_submission.h): it stores each submission in the event store
// on arrival, then hands it, stored, to the validation worker, which judges it and stores the
// verdict. The case study's consumer path: store the incoming record, validate, store results.
//
// Exactly once in the store: the submission is appended to a new stream (ExpectedVersion
// NoStream) with the event id the write process gave it, so a redelivery, or a client's retry
// published twice, is recognized by the store as the same append. Outcomes, counted by
// `on_outcome`:
//   stored        the submission is in the store now
//   redelivered   it was there already (a redelivery, or a retry published twice): judged only
//                 if it still needs a verdict
//   key_conflict  its Idempotency-Key was used for a different request that reached the store
//                 first: dropped (docs/api.md says what the client was told)
//   invalid       not an AdSubmitted event of an ad stream, or its stream is taken: dropped
// A store that cannot be reached is kUnavailable: the consumer retries (cqrs/consumer/handler.h).
//
// Thread-safety: Consume() from the consumer's lanes, concurrently. `store` and `worker` must
// outlive it.
#pragma once

#include <functional>
#include <string_view>

#include "ads/latency_model.h"
#include "ads/validation_worker.h"
#include "cqrs/consumer/handler.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

struct SubmissionIngestOptions {
  // Steps timed or padded (the paper's "store incoming record"); must outlive the ingest.
  const LatencyModel* latency = nullptr;
  // Called with each submission's outcome ("stored", "redelivered", ...). Any thread; must not block.
  std::function<void(std::string_view outcome)> on_outcome;
};

class SubmissionIngest {
 public:
  SubmissionIngest(cqrs::EventStore& store, ValidationWorker& worker, SubmissionIngestOptions options = {});

  // The handler of the submissions topic's consumer (cqrs::consumer::DeliveryHandler).
  void Consume(const cqrs::RecordedEvent& submission, cqrs::consumer::Delivery delivery,
               cqrs::consumer::Completion done);

 private:
  // Hands the stored submission to the worker.
  void Judge(cqrs::RecordedEvent submission, const cqrs::Result<cqrs::AppendResult>& stored,
             cqrs::consumer::Delivery delivery, cqrs::consumer::Completion done);
  void Count(std::string_view outcome) const;

  cqrs::EventStore& store_;
  ValidationWorker& worker_;
  const SubmissionIngestOptions options_;
};

}  // namespace adsd::ads
