// The CQRS flow: store the ad and its event in one transaction (the outbox), publish, answer.
// A crash between the two leaves the event in the outbox, and the relay publishes it.
#include <chrono>

#include "ads/write/pipeline.h"

namespace adsd::ads {

namespace {

using Clock = LatencyModel::Clock;

class StoreThenPublishPipeline final : public SubmitPipeline {
 public:
  StoreThenPublishPipeline(cqrs::EventStore& store, Outbox& outbox, const LatencyModel& latency,
                           StoreThenPublishOptions options)
      : store_(store), outbox_(outbox), latency_(latency), options_(std::move(options)) {}

  void Submit(Submission s, bool may_block, CommandDone done) override {
    // The event is final before it is stored: the relay publishes exactly this one.
    s.event.timestamp_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    RunWhereItMayWait(
        may_block, options_.blocking,
        [this, s = std::move(s), done] {
          Clock::time_point step = Clock::now();
          const cqrs::Status stored = outbox_.Store(s.ad_id, s.retailer, s.stream, s.event);
          // kAlreadyExists: a retry with the same Idempotency-Key; publishing again is harmless.
          if (!stored.ok() && stored.code() != cqrs::StatusCode::kAlreadyExists) return done(StoreRejection(stored));
          latency_.Pad(Step::kStoreIncomingRecord, step);
          if (options_.after_store) options_.after_store();
          step = Clock::now();
          auto r = outbox_.Publish(store_, s.stream, s.event);
          if (r.ok()) latency_.Pad(Step::kPublishToEventStream, step);
          done(SubmissionOutcome(r, s));
        },
        done);
  }

 private:
  cqrs::EventStore& store_;
  Outbox& outbox_;
  const LatencyModel& latency_;
  const StoreThenPublishOptions options_;
};

}  // namespace

std::unique_ptr<SubmitPipeline> MakeStoreThenPublishPipeline(cqrs::EventStore& store, Outbox& outbox,
                                                             const LatencyModel& latency,
                                                             StoreThenPublishOptions options) {
  return std::make_unique<StoreThenPublishPipeline>(store, outbox, latency, std::move(options));
}

}  // namespace adsd::ads
