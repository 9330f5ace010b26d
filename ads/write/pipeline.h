// SubmitPipeline: how a submission that passed basic validation is recorded before the client is
// answered — the case study's three flows (docs/api.md, "Pipelines").
//
//   publish first (--pipeline async): append the submission to the event log (the event
//          streaming platform) and answer; consumers store and judge it (the paper's optimized flow)
//          In the distributed shape the platform is Kafka: publish the submission there and
//          answer on the brokers' acknowledgement; the workers store it in the event store.
//   store, then publish (--pipeline cqrs): store the ad and its event in the write model (an
//          outbox, one transaction), publish the event, answer; a relay publishes what a crash
//          left behind
//   synchronous (--pipeline sync): append, judge in the request, wait for the read model, answer
//          with the verdict
//
// Every step is timed by the latency model (ads/latency_model.h), which pads a step to the
// paper's figure in `adsctl bench paper` and only measures it otherwise.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ads/latency_model.h"
#include "ads/write/commands.h"
#include "ads/write/outbox.h"
#include "ads/write/recent_keys.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

// A submission ready to be recorded: its ad id, stream and event are chosen.
struct Submission {
  std::string ad_id;
  std::string stream;
  std::string retailer;
  cqrs::EventData event;
};

class SubmitPipeline {
 public:
  virtual ~SubmitPipeline() = default;
  // Records `s` and calls `done` once. `may_block`: the calling thread may wait (a blocking-pool
  // thread); otherwise the pipeline must not block it.
  virtual void Submit(Submission s, bool may_block, CommandDone done) = 0;
};

std::unique_ptr<SubmitPipeline> MakePublishFirstPipeline(cqrs::EventStore& store, const LatencyModel& latency);

struct PublishToBusOptions {
  // Sends `s` to the bus (its submissions topic, key = s.stream); `acked` runs once, on any
  // thread, when the brokers have it (Ok) or not (an error). Must not block.
  std::function<void(const Submission& s, std::function<void(cqrs::Status)> acked)> publish;
  BlockingExecutor blocking;     // the store lookup of a submission with an Idempotency-Key
  RecentKeys* recent = nullptr;  // keys published lately by this process; must outlive the pipeline
};
// `store` answers whether a keyed submission is stored already.
std::unique_ptr<SubmitPipeline> MakePublishToBusPipeline(const cqrs::EventStore& store, const LatencyModel& latency,
                                                         PublishToBusOptions options);

struct StoreThenPublishOptions {
  BlockingExecutor blocking;          // the outbox's durable commit waits
  std::function<void()> after_store;  // tests: runs between the outbox commit and the publish
};
std::unique_ptr<SubmitPipeline> MakeStoreThenPublishPipeline(cqrs::EventStore& store, Outbox& outbox,
                                                             const LatencyModel& latency,
                                                             StoreThenPublishOptions options);

struct SynchronousPipelineOptions {
  BlockingExecutor blocking;
  // Judges the event and appends its verdict; `stored` runs once the verdict is durable (the
  // request waits there for its read model). kUnavailable: the validator cannot be asked.
  std::function<cqrs::Status(const cqrs::RecordedEvent&, const std::function<void()>& stored)> decide;
  std::function<void()> await_read_model;  // until the read model has applied the log's head
  std::function<cqrs::Result<std::optional<AdRow>>(const std::string& ad_id)> read_back;
};
std::unique_ptr<SubmitPipeline> MakeSynchronousPipeline(cqrs::EventStore& store, const LatencyModel& latency,
                                                        SynchronousPipelineOptions options);

// Shared by the pipelines and the command handler.

// A new event with a fresh id, the current schema version, and `correlation` (the ad id).
cqrs::EventData NewAdEvent(std::string_view type, std::string payload, const cqrs::Uuid& correlation);
// The rejection for a store error: a version conflict is kStaleVersion, anything else kUnavailable.
Rejection StoreRejection(const cqrs::Status& st);
// The outcome of a submission's append: accepted, or refused as a reused or expired key.
CommandResult SubmissionOutcome(const cqrs::Result<cqrs::AppendResult>& r, const Submission& s);
// Runs `task` now when `may_block`, else on `blocking`; a full executor answers kOverloaded.
void RunWhereItMayWait(bool may_block, const BlockingExecutor& blocking, std::function<void()> task,
                       const CommandDone& done);

}  // namespace adsd::ads
