// ValidationWorker: the asynchronous consumer that does detailed validation.
//
// Follows the log from its consumer offset. For each AdSubmitted or AdChanged it evaluates the
// rule sets and appends AdApproved or AdRejected to the ad's stream with the expected version of
// the event it judged, and with an event id derived from that event's id. So a redelivered event
// can never decide twice: the retry is recognized as the same append (idempotent), and a verdict
// on a version that has since changed is refused as a version conflict and dropped (the change is
// judged on its own). The offset is committed after the batch's verdicts are durable:
// at-least-once delivery, exactly-once effects.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "ads/external_validator.h"
#include "ads/rules/rules.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

class ValidationWorker {
 public:
  static constexpr std::string_view kGroup = "validator";

  // `store`, `offsets`, `rules` and `external` (may be null: rules only) must outlive the worker.
  ValidationWorker(cqrs::EventStore& store, cqrs::log::ConsumerOffsets& offsets, const RuleEngine& rules,
                   ExternalValidator* external = nullptr)
      : store_(store), offsets_(offsets), rules_(rules), external_(external) {}
  ~ValidationWorker() {
    stopping_.store(true);
    subscription_.reset();
  }

  // Starts following the log after the committed offset.
  cqrs::Status Start();
  // Judges one event now, on the calling thread (the sync pipeline). Ok for events it ignores;
  // kUnavailable when the external validator cannot be asked (nothing is appended then).
  cqrs::Status Decide(const cqrs::RecordedEvent& event);

  // Judges a batch and appends all its verdicts concurrently (they share the log's group commit),
  // waiting until every one is durable. What the consumer does for each delivered batch.
  cqrs::Status DecideBatch(std::span<const cqrs::RecordedEvent> events);

  cqrs::Position position() const { return cqrs::Position(position_.load()); }
  cqrs::Status status() const { return subscription_ ? subscription_->status() : cqrs::Status::Ok(); }
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

  cqrs::EventStore& store_;
  cqrs::log::ConsumerOffsets& offsets_;
  const RuleEngine& rules_;
  ExternalValidator* external_;
  std::atomic<bool> stopping_{false};
  std::mutex flood_mu_;
  FloodHistory floods_;  // guarded by flood_mu_
  std::atomic<std::uint64_t> position_{0};
  std::atomic<std::uint64_t> decided_{0};
  std::unique_ptr<cqrs::Subscription> subscription_;
};

}  // namespace adsd::ads
