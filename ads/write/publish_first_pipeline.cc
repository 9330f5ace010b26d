// The optimized flow: publish the submission to the event log, answer; the consumers store and
// judge it.
#include "ads/write/pipeline.h"

namespace adsd::ads {

namespace {

using Clock = LatencyModel::Clock;

class PublishFirstPipeline final : public SubmitPipeline {
 public:
  PublishFirstPipeline(cqrs::EventStore& store, const LatencyModel& latency) : store_(store), latency_(latency) {}

  void Submit(Submission s, bool may_block, CommandDone done) override {
    const Clock::time_point began = Clock::now();
    if (may_block) {  // a padded step may sleep here
      auto r = store_.Append(s.stream, cqrs::ExpectedVersion::NoStream(), std::span(&s.event, 1));
      latency_.Pad(Step::kPublishToEventStream, began);
      return done(SubmissionOutcome(r, s));
    }
    // Answered from the store's completion thread: nothing below waits.
    const cqrs::EventData& event = s.event;
    store_.AppendAsync(s.stream, cqrs::ExpectedVersion::NoStream(), std::span(&event, 1),
                       [this, began, s, done = std::move(done)](cqrs::Result<cqrs::AppendResult> r) {
                         latency_.Pad(Step::kPublishToEventStream, began);  // disabled here: timing only
                         done(SubmissionOutcome(r, s));
                       });
  }

 private:
  cqrs::EventStore& store_;
  const LatencyModel& latency_;
};

}  // namespace

std::unique_ptr<SubmitPipeline> MakePublishFirstPipeline(cqrs::EventStore& store, const LatencyModel& latency) {
  return std::make_unique<PublishFirstPipeline>(store, latency);
}

}  // namespace adsd::ads
