// ValidationWorker: the asynchronous consumer that does detailed validation.
//
// Follows the log from its consumer offset. For each AdSubmitted or AdChanged it evaluates the
// rule sets (and the external validation API, when configured) and appends AdApproved or
// AdRejected to the ad's stream with the expected version of the event it judged, and with an
// event id derived from that event's id. So a redelivered event can never decide twice: the retry
// is recognized as the same append (idempotent), and a verdict on a version that has since
// changed is refused as a version conflict and dropped (the change is judged on its own).
//
// Concurrency: `concurrency` ads are judged at once (cqrs::projection::KeyedLanes), each ad's
// events in order. The committed offset is the lanes' watermark, advanced only once every verdict
// at or below it is durable: at-least-once delivery, exactly-once effects.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "ads/external_validator.h"
#include "ads/latency_model.h"
#include "ads/rules/rules.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/projection/keyed_lanes.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

struct ValidationWorkerOptions {
  // Ads judged at once (the paper's "concurrent consumers"); each ad's events stay in order.
  int concurrency = 1;
  // An event younger than this is left to whoever appended it (the sync pipeline decides in the
  // request; the worker only takes over what a crash or an unavailable validator left behind).
  std::chrono::milliseconds grace{0};
  // Step latencies injected for the paper benchmark, and step timing. Must outlive the worker.
  const LatencyModel* latency = nullptr;
  // The async pipeline's consumer path starts with storing the incoming record (the paper's
  // Table 3): when set, the worker waits for it (the read model has applied the event) as a step.
  std::function<void(cqrs::Position)> await_stored;
};

class ValidationWorker {
 public:
  static constexpr std::string_view kGroup = "validator";

  // `store`, `offsets`, `rules` and `external` (may be null: rules only) must outlive the worker.
  ValidationWorker(cqrs::EventStore& store, cqrs::log::ConsumerOffsets& offsets, const RuleEngine& rules,
                   ExternalValidator* external = nullptr, ValidationWorkerOptions options = {});
  ~ValidationWorker();

  // Starts following the log after the committed offset.
  cqrs::Status Start();
  // Judges one event now, on the calling thread, and waits for the verdict to be durable (the
  // sync pipeline). Ok for events it ignores; kUnavailable when the external validator cannot
  // be asked (nothing is appended then).
  // `stored`, when given, runs after the verdict is durable, as part of storing the results (the
  // sync pipeline waits there for its read model).
  cqrs::Status Decide(const cqrs::RecordedEvent& event, const std::function<void()>& stored = {});

  // Handles one event delivered by a bus (cqrs::kafka::BusConsumer) instead of Start()'s own
  // subscription: judges it if it still needs a verdict and returns once the verdict is durable.
  // Waits out an unavailable validator or store; kUnavailable only when the worker is stopping
  // (the event is then not done, and is redelivered).
  cqrs::Status Consume(const cqrs::RecordedEvent& event);
  // Makes every wait give up: in-flight Consume() calls return soon after.
  void RequestStop() { stopping_.store(true); }

  // Every event at or below this position has been judged and its verdict is durable.
  cqrs::Position position() const;
  cqrs::Status status() const;
  std::uint64_t decided() const { return decided_.load(); }

 private:
  // A verdict ready to append.
  struct Verdict {
    std::string stream;
    cqrs::StreamVersion expected;
    cqrs::EventData event;
  };
  // The verdict on `e`, or nullopt for an event that needs none.
  cqrs::Result<std::optional<Verdict>> Judge(const cqrs::RecordedEvent& e);
  // Judge, retrying while the external validator is unavailable (until the worker stops).
  cqrs::Result<std::optional<Verdict>> JudgePatiently(const cqrs::RecordedEvent& e);
  // Sleeps until the event is `grace` old (the sync pipeline's request decides before that).
  void AwaitGrace(const cqrs::RecordedEvent& e) const;
  // Whether `e` still needs a verdict: nothing has been appended to its stream since.
  cqrs::Result<bool> NeedsVerdict(const cqrs::RecordedEvent& e) const;
  // On a lane: judges `e`, appends its verdict, marks it done once durable.
  void Process(const cqrs::RecordedEvent& e);
  void Fail(const cqrs::Status& st);
  void Pad(Step step, LatencyModel::Clock::time_point began) const;
  // Commits the watermark every so often, and once more at the end.
  void CommitLoop();

  cqrs::EventStore& store_;
  cqrs::log::ConsumerOffsets& offsets_;
  const RuleEngine& rules_;
  ExternalValidator* external_;
  const ValidationWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex flood_mu_;
  FloodHistory floods_;  // guarded by flood_mu_
  std::atomic<std::uint64_t> position_{0};  // the committed offset it started from
  std::atomic<std::uint64_t> decided_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  cqrs::Status failure_;       // guarded by mu_: the first failure; the worker stops there
  std::size_t appending_ = 0;  // guarded by mu_: verdict appends not yet completed
  bool stop_commits_ = false;  // guarded by mu_

  std::unique_ptr<cqrs::projection::KeyedLanes> lanes_;
  std::unique_ptr<cqrs::Subscription> subscription_;
  std::thread committer_;
};

}  // namespace adsd::ads
