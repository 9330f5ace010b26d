// The optimized flow on the event streaming platform: publish the submission to Kafka, answer
// once the brokers acknowledged it; the workers store it in the event store and judge it
// (ads/submission_ingest.h). The store stays the audit trail of record: every submission ends up
// there, exactly once by its event id.
#include <chrono>
#include <future>

#include "ads/bus_submission.h"
#include "ads/write/idempotency.h"
#include "ads/write/pipeline.h"

namespace adsd::ads {

namespace {

using Clock = LatencyModel::Clock;

class PublishToBusPipeline final : public SubmitPipeline {
 public:
  PublishToBusPipeline(const cqrs::EventStore& store, const LatencyModel& latency, PublishToBusOptions options)
      : store_(store), latency_(latency), options_(std::move(options)) {}

  void Submit(Submission s, bool may_block, CommandDone done) override {
    // The event is final before it is published: the store gets exactly this one.
    s.event.timestamp_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    s.event.metadata = MarkCameThroughBus(s.event.metadata);
    if (!RequestHash(s.event.metadata)) return Publish(std::move(s), may_block, std::move(done));
    // An Idempotency-Key: the first request may be stored already (then its answer is given
    // again, or the key refused), or published by this process moments ago.
    RunWhereItMayWait(
        may_block, options_.blocking,
        [this, s = std::move(s), done]() mutable {
          auto first = store_.ReadStream(s.stream, cqrs::StreamVersion(1), 1);
          if (!first.ok()) return done(StoreRejection(first.status()));
          if (!first->empty()) {
            const cqrs::RecordedEvent& e = first->front();
            if (auto refused = CheckRetry({e.timestamp_us, e.metadata}, s.event.metadata))
              return done(std::move(*refused));
            return done(Accepted{s.ad_id, "pending", e.version, e.position, /*created=*/true, std::nullopt});
          }
          if (options_.recent->Remember(s.ad_id, *RequestHash(s.event.metadata)) == RecentKeys::Seen::kOtherRequest) {
            return done(Rejection{
                RejectionCode::kIdempotencyKeyReused, "this Idempotency-Key was used for a different request", {}});
          }
          // A retry of a request still on its way to the store is published again: the store
          // recognizes the second copy by its event id.
          Publish(std::move(s), /*may_block=*/true, std::move(done));
        },
        done);
  }

 private:
  static CommandResult Outcome(const cqrs::Status& acked, const Submission& s) {
    if (!acked.ok()) {
      return Rejection{RejectionCode::kUnavailable,
                       "the event streaming platform did not acknowledge the submission (" + acked.ToString() + ")",
                       {}};
    }
    return Accepted{s.ad_id, "pending", cqrs::StreamVersion(1), std::nullopt, /*created=*/true, std::nullopt};
  }

  void Publish(Submission s, bool may_block, CommandDone done) {
    const Clock::time_point began = Clock::now();
    if (!may_block) {
      // Answered from the producer's acknowledgement: nothing here waits.
      auto shared = std::make_shared<Submission>(std::move(s));
      options_.publish(*shared, [this, began, shared, done = std::move(done)](cqrs::Status acked) {
        latency_.Pad(Step::kPublishToEventStream, began);  // disabled here: timing only
        done(Outcome(acked, *shared));
      });
      return;
    }
    std::promise<cqrs::Status> acked;
    std::future<cqrs::Status> result = acked.get_future();
    options_.publish(s, [&acked](cqrs::Status st) { acked.set_value(std::move(st)); });
    const cqrs::Status st = result.get();
    if (st.ok()) latency_.Pad(Step::kPublishToEventStream, began);
    done(Outcome(st, s));
  }

  const cqrs::EventStore& store_;
  const LatencyModel& latency_;
  const PublishToBusOptions options_;
};

}  // namespace

std::unique_ptr<SubmitPipeline> MakePublishToBusPipeline(const cqrs::EventStore& store, const LatencyModel& latency,
                                                         PublishToBusOptions options) {
  return std::make_unique<PublishToBusPipeline>(store, latency, std::move(options));
}

}  // namespace adsd::ads
