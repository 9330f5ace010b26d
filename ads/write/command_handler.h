// AdCommandHandler: the Write API's commands on an event store.
//
// Submit: basic validation, the ad id (derived from an Idempotency-Key, or a fresh UUIDv7), the
// AdSubmitted event, then the configured pipeline. Change and Withdraw: the ad's current state
// from the tail of its stream, the precondition (If-Match), then one append with the exact
// version read, so a concurrent change makes exactly one of them win. A precondition that does
// not pin a version (`If-Match: *`, or none on withdraw) is re-checked against what changed the ad
// meanwhile (usually its verdict) rather than failing.
//
// Threading: Submit runs on the caller's thread and never blocks it (with the paper's latency
// model enabled, whole submissions run on the blocking executor, where its padding may sleep).
// Change and Withdraw read before they write: they run on the blocking executor.
// Thread-safety: all methods may be called concurrently; the store, pipeline, latency model and
// executor must outlive the handler.
#pragma once

#include "ads/write/commands.h"
#include "ads/write/current_state.h"
#include "ads/write/pipeline.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

class AdCommandHandler final : public AdCommands {
 public:
  AdCommandHandler(cqrs::EventStore& store, SubmitPipeline& pipeline, const LatencyModel& latency,
                   BlockingExecutor blocking);

  void Submit(SubmitAd command, CommandDone done) override;
  void Change(ChangeAd command, CommandDone done) override;
  void Withdraw(WithdrawAd command, CommandDone done) override;

 private:
  void SubmitNow(const SubmitAd& command, bool may_block, CommandDone done);
  CommandResult ChangeNow(const ChangeAd& command);
  CommandResult WithdrawNow(const WithdrawAd& command);
  // One read-check-append. `raced`: the append conflicted (the ad changed after it was read).
  CommandResult ChangeOnce(const ChangeAd& command, bool& raced);
  CommandResult WithdrawOnce(const WithdrawAd& command, bool& raced);
  // The ad `sender` may change: not another retailer's, not withdrawn.
  std::variant<CurrentAd, Rejection> LoadOwned(const Sender& sender, const cqrs::Uuid& id) const;
  // Appends `event` at exactly the version read; `raced` when the ad changed since.
  CommandResult AppendAt(const cqrs::Uuid& id, const CurrentAd& ad, const cqrs::EventData& event, std::string status,
                         bool& raced);

  cqrs::EventStore& store_;
  SubmitPipeline& pipeline_;
  const LatencyModel& latency_;
  const BlockingExecutor blocking_;
};

}  // namespace adsd::ads
