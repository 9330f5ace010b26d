// ValidationWorker: detailed validation, as one handler of the engine's consumer framework.
//
// For each AdSubmitted or AdChanged it evaluates the rule sets (and the external validation API,
// when configured) and appends AdApproved or AdRejected to the ad's stream with the expected
// version of the event it judged, and with an event id derived from that event's id. So a
// redelivered event can never decide twice: the retry is recognized as the same append
// (idempotent), and a verdict on a version that has since changed is refused as a version
// conflict and dropped (the change is judged on its own).
//
// One function judges an event and appends its verdict (JudgeAndAppend); it serves
// - the embedded-log consumer: Start() follows the store's global order with a
//   cqrs::consumer::StoreConsumer (offset group kGroup in ConsumerOffsets);
// - the Kafka consumer: Consume() is the handler a cqrs::kafka::BusConsumer calls;
// - the sync pipeline: Decide() judges inline in the request.
// Errors follow cqrs/consumer/handler.h: kUnavailable (the validator or the store is down) is
// retried by the consumer with backoff until it stops, and answered as such by Decide(); any
// other error stops the consumer at that event (a restart redoes it).
//
// Concurrency: `concurrency` ads are judged at once, each ad's events in order. Without a latency
// model a lane does not wait for its verdict's commit: the verdict settles when the store's
// callback reports it durable, so the verdicts of many ads share the log's group commit. The
// committed offset only covers events whose verdicts are durable: at-least-once delivery,
// exactly-once effects.
//
// Thread-safety: Decide(), Consume(), RequestStop() and the accessors from any thread; Start()
// once. The destructor stops the consumer after its handler calls in flight settle.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "ads/external_validator.h"
#include "ads/latency_model.h"
#include "ads/rules/rules.h"
#include "cqrs/consumer/handler.h"
#include "cqrs/consumer/store_consumer.h"
#include "cqrs/core/mutex.h"
#include "cqrs/log/consumer_offsets.h"
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
  // Table 3): when set and latencies are modeled, a consumed event waits for it (the read model
  // has applied the event) as a step.
  std::function<void(cqrs::Position)> await_stored;
  // Called as each verdict is handed to the store, with the verdict appends then in flight, itself
  // included: the verdicts that can share its commit (a metric of how verdicts batch; bounded by
  // the consumer's events in flight and the store's batch limit). Any thread; must not block.
  std::function<void(std::size_t pending)> on_verdict;
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

  // The consumer handler (cqrs::consumer::Handler) for an event delivered by a bus
  // (cqrs::kafka::BusConsumer) instead of Start()'s own subscription: judges it if it still
  // needs a verdict and settles `done` once the verdict is durable; kUnavailable while the
  // validator or the store is down, and once the worker is stopping.
  // The read that asks whether the event still needs a verdict (nothing appended to its stream
  // since) is made only for a delivery that may be repeated (cqrs/consumer/handler.h) and in the
  // sync pipeline (grace > 0); a first delivery is judged at once. Either way a verdict is
  // appended at most once: the append's derived id and expected version make sure of it.
  void Consume(const cqrs::RecordedEvent& event, cqrs::consumer::Delivery delivery, cqrs::consumer::Completion done);
  // The same, for a source that cannot tell: every delivery may be repeated.
  void Consume(const cqrs::RecordedEvent& event, cqrs::consumer::Completion done);
  // The events Consume() judges; the others need no lane (a consumer's filter).
  static bool Judges(const cqrs::RecordedEvent& event);
  // Makes every wait give up: in-flight Consume() calls settle soon after.
  void RequestStop() { stopping_.store(true); }

  // Every event at or below this position has been judged and its verdict is durable.
  cqrs::Position position() const;
  cqrs::Status status() const;
  // Verdicts this worker appended (not those found already there), counting appends in flight:
  // one later refused or failed is taken back.
  std::uint64_t decided() const { return decided_.load(); }
  // "Does it still need a verdict?" reads made (redeliveries and the sync pipeline's takeovers).
  std::uint64_t checked() const { return checked_.load(); }

 private:
  // A verdict ready to append.
  struct Verdict {
    std::string stream;
    cqrs::StreamVersion expected;
    cqrs::EventData event;
  };
  // Where an event comes from: a consumer (grace, "still needed?", the modeled incoming-record
  // step) or the request that appended it (judged at once).
  enum class Path { kConsumed, kInline };
  // The one "judge one event and append its verdict": settles `done` once the verdict is durable
  // (on the store's callback thread when nothing waits), at once when no verdict is needed.
  // kInline settles before it returns.
  void JudgeAndAppend(const cqrs::RecordedEvent& e, Path path, cqrs::consumer::Delivery delivery,
                      const std::function<void()>& stored, cqrs::consumer::Completion done);
  // The verdict on `e`, or nullopt for an event that needs none.
  cqrs::Result<std::optional<Verdict>> Judge(const cqrs::RecordedEvent& e);
  // Sleeps until the event is `grace` old (the sync pipeline's request decides before that).
  void AwaitGrace(const cqrs::RecordedEvent& e) const;
  // Whether `e` still needs a verdict: nothing has been appended to its stream since.
  cqrs::Result<bool> NeedsVerdict(const cqrs::RecordedEvent& e) const;
  // A verdict append's outcome: a conflict means the ad moved on (dropped, judged on its own).
  cqrs::Status Settle(const cqrs::Result<cqrs::AppendResult>& r);
  void Pad(Step step, LatencyModel::Clock::time_point began) const;

  cqrs::EventStore& store_;
  cqrs::log::ConsumerOffsets& offsets_;
  const RuleEngine& rules_;
  ExternalValidator* external_;
  const ValidationWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> decided_{0};
  mutable std::atomic<std::uint64_t> checked_{0};
  std::atomic<std::size_t> pending_{0};  // verdict appends issued, not settled
  cqrs::Mutex flood_mu_;
  FloodHistory floods_ GUARDED_BY(flood_mu_);

  std::unique_ptr<cqrs::consumer::StoreConsumer> consumer_;  // set by Start()
};

}  // namespace adsd::ads
