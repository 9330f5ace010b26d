// The synchronous baseline: the client waits for detailed validation and for the read model it
// is answered from.
#include "ads/write/pipeline.h"

namespace adsd::ads {

namespace {

using Clock = LatencyModel::Clock;

class SynchronousPipeline final : public SubmitPipeline {
 public:
  SynchronousPipeline(cqrs::EventStore& store, const LatencyModel& latency, SynchronousPipelineOptions options)
      : store_(store), latency_(latency), options_(std::move(options)) {}

  void Submit(Submission s, bool may_block, CommandDone done) override {
    RunWhereItMayWait(
        may_block, options_.blocking, [this, s = std::move(s), done] { done(Record(s)); }, done);
  }

 private:
  CommandResult Record(const Submission& s) {
    const Clock::time_point step = Clock::now();
    auto r = store_.Append(s.stream, cqrs::ExpectedVersion::NoStream(), std::span(&s.event, 1));
    CommandResult appended = SubmissionOutcome(r, s);
    if (std::holds_alternative<Rejection>(appended)) return appended;
    latency_.Pad(Step::kStoreIncomingRecord, step);
    auto events = store_.ReadStream(s.stream, cqrs::StreamVersion(1), 1);
    if (!events.ok()) return StoreRejection(events.status());
    if (events->empty()) return Rejection{RejectionCode::kUnavailable, "the submission is not readable yet", {}};
    // Storing the results includes the read model the client is answered from.
    const cqrs::Status decided = options_.decide(events->front(), options_.await_read_model);
    if (!decided.ok()) {
      // The ad is stored; the consumer decides it once the validator answers again.
      return Rejection{RejectionCode::kValidatorUnavailable,
                       "ad " + s.ad_id + " is stored and will be decided later: " + decided.message(),
                       {}};
    }
    auto row = options_.read_back(s.ad_id);
    if (!row.ok() || !*row) return Rejection{RejectionCode::kReadModelBehind, "try GET later", {}};
    Accepted a = std::get<Accepted>(std::move(appended));
    a.decided = std::move(**row);
    return a;
  }

  cqrs::EventStore& store_;
  const LatencyModel& latency_;
  const SynchronousPipelineOptions options_;
};

}  // namespace

std::unique_ptr<SubmitPipeline> MakeSynchronousPipeline(cqrs::EventStore& store, const LatencyModel& latency,
                                                        SynchronousPipelineOptions options) {
  return std::make_unique<SynchronousPipeline>(store, latency, std::move(options));
}

}  // namespace adsd::ads
