#include "ads/write/command_handler.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "ads/write/current_state.h"
#include "ads/write/idempotency.h"

namespace adsd::ads {

bool VersionMatch::Matches(cqrs::StreamVersion v) const {
  return any || std::find(versions.begin(), versions.end(), v) != versions.end();
}

namespace {

Rejection NotFound(const cqrs::Uuid& id) { return {RejectionCode::kNotFound, "no ad " + id.ToString(), {}}; }

bool Owns(const Sender& sender, const CurrentAd& ad) { return sender.MayAccess(ad.content.retailer); }

Rejection StaleAt(cqrs::StreamVersion v) {
  return {RejectionCode::kStaleVersion, "the ad is at version " + std::to_string(v.value()), {}};
}

}  // namespace

AdCommandHandler::AdCommandHandler(cqrs::EventStore& store, SubmitPipeline& pipeline, const LatencyModel& latency,
                                   BlockingExecutor blocking)
    : store_(store), pipeline_(pipeline), latency_(latency), blocking_(std::move(blocking)) {}

void AdCommandHandler::Submit(SubmitAd command, CommandDone done) {
  if (!latency_.enabled()) return SubmitNow(command, /*may_block=*/false, std::move(done));
  // Modeled steps sleep: the whole submission runs where it may wait. Its first step began when
  // the request arrived, so the hand-over counts in it.
  RunWhereItMayWait(
      false, blocking_, [this, command = std::move(command), done] { SubmitNow(command, /*may_block=*/true, done); },
      done);
}

void AdCommandHandler::SubmitNow(const SubmitAd& command, bool may_block, CommandDone done) {
  if (command.sender.admin) {
    return done(Rejection{RejectionCode::kForbidden, "ads are submitted with a retailer's token", {}});
  }
  ParsedAd parsed = ParseAd(command.body);
  if (!parsed.ok()) return done(Rejection{RejectionCode::kInvalid, "", std::move(parsed.errors)});
  const auto& key = command.idempotency_key;
  if (key && !ValidIdempotencyKey(*key)) {
    return done(Rejection{RejectionCode::kBadIdempotencyKey,
                          "Idempotency-Key must be 1-255 visible ASCII characters",
                          {{"Idempotency-Key", "invalid", "1-255 visible ASCII characters"}}});
  }
  // The ad id is chosen before anything is written. With an Idempotency-Key it is derived from
  // the retailer and the key, so a retry names the same ad and the same event, and the store
  // recognizes it: exactly one ad per key, with no table of keys to keep in step with the log.
  const cqrs::Uuid ad_id = key ? IdempotentAdId(command.sender.retailer, *key) : cqrs::Uuid::V7();
  Submission s;
  s.ad_id = ad_id.ToString();
  s.stream = events::StreamOf(ad_id);
  s.retailer = command.sender.retailer;
  s.event = NewAdEvent(events::kSubmitted, events::ContentPayload(s.retailer, parsed.ad), ad_id);
  if (key) {
    s.event.event_id = events::DerivedId(ad_id, "submitted");
    s.event.metadata = RequestMetadata(command.body);
  }
  latency_.Pad(Step::kBasicValidation, command.arrived);
  pipeline_.Submit(std::move(s), may_block, std::move(done));
}

void AdCommandHandler::Change(ChangeAd command, CommandDone done) {
  RunWhereItMayWait(
      false, blocking_, [this, command = std::move(command), done] { done(ChangeNow(command)); }, done);
}

void AdCommandHandler::Withdraw(WithdrawAd command, CommandDone done) {
  RunWhereItMayWait(
      false, blocking_, [this, command = std::move(command), done] { done(WithdrawNow(command)); }, done);
}

namespace {

// A command whose precondition does not pin a version (`*`, or none) is checked again against
// whatever changed the ad meanwhile (its verdict, usually) instead of failing: a few rounds, each
// after the change became durable (reads see durable events only, while the append's check sees
// staged ones too), so the next read sees it.
constexpr int kUnpinnedAttempts = 6;
constexpr auto kDurableWait = std::chrono::seconds(2);

bool Pinned(const VersionMatch& m) { return !m.any; }

}  // namespace

void AdCommandHandler::AwaitWhatRaced() const {
  // The event that won was staged when it conflicted with ours: it is durable once the log's
  // durable head has moved past where it is now.
  store_.WaitForPosition(cqrs::Position(store_.Head().value() + 1), std::chrono::steady_clock::now() + kDurableWait);
}

CommandResult AdCommandHandler::ChangeNow(const ChangeAd& command) {
  bool raced = false;
  CommandResult r = ChangeOnce(command, raced);
  for (int i = 1; i < kUnpinnedAttempts && !Pinned(command.expected) && raced; ++i) {
    AwaitWhatRaced();
    r = ChangeOnce(command, raced);
  }
  return r;
}

CommandResult AdCommandHandler::WithdrawNow(const WithdrawAd& command) {
  bool raced = false;
  CommandResult r = WithdrawOnce(command, raced);
  const bool pinned = command.expected && Pinned(*command.expected);
  for (int i = 1; i < kUnpinnedAttempts && !pinned && raced; ++i) {
    AwaitWhatRaced();
    r = WithdrawOnce(command, raced);
  }
  return r;
}

std::variant<CurrentAd, Rejection> AdCommandHandler::LoadOwned(const Sender& sender, const cqrs::Uuid& id) const {
  auto current = LoadCurrentAd(store_, events::StreamOf(id));
  if (!current.ok()) return StoreRejection(current.status());
  if (!*current || !Owns(sender, **current)) return NotFound(id);
  if ((*current)->withdrawn) return Rejection{RejectionCode::kWithdrawn, "ad " + id.ToString() + " is withdrawn", {}};
  return std::move(**current);
}

CommandResult AdCommandHandler::AppendAt(const cqrs::Uuid& id, const CurrentAd& ad, const cqrs::EventData& event,
                                         std::string status, bool& raced) {
  // The version read, exactly: a change that slipped in since is a conflict (412), not overwritten.
  auto r = store_.Append(events::StreamOf(id), cqrs::ExpectedVersion::Exact(ad.version), std::span(&event, 1));
  raced = r.status().code() == cqrs::StatusCode::kVersionConflict;
  if (!r.ok()) return StoreRejection(r.status());
  return Accepted{id.ToString(), std::move(status), r->last_version, r->last_position, false, std::nullopt};
}

CommandResult AdCommandHandler::ChangeOnce(const ChangeAd& command, bool& raced) {
  raced = false;
  auto loaded = LoadOwned(command.sender, command.ad_id);
  if (auto* refused = std::get_if<Rejection>(&loaded)) return std::move(*refused);
  const CurrentAd& ad = std::get<CurrentAd>(loaded);
  if (!command.expected.Matches(ad.version)) return StaleAt(ad.version);
  ParsedAd parsed = ParseAdPatch(command.body, ad.content.ad);
  if (!parsed.ok()) return Rejection{RejectionCode::kInvalid, "", std::move(parsed.errors)};
  const cqrs::EventData changed =
      NewAdEvent(events::kChanged, events::ContentPayload(ad.content.retailer, parsed.ad), command.ad_id);
  return AppendAt(command.ad_id, ad, changed, "pending", raced);
}

CommandResult AdCommandHandler::WithdrawOnce(const WithdrawAd& command, bool& raced) {
  raced = false;
  auto loaded = LoadOwned(command.sender, command.ad_id);
  if (auto* refused = std::get_if<Rejection>(&loaded)) return std::move(*refused);
  const CurrentAd& ad = std::get<CurrentAd>(loaded);
  if (command.expected && !command.expected->Matches(ad.version)) return StaleAt(ad.version);
  const cqrs::EventData withdrawn =
      NewAdEvent(events::kWithdrawn, events::WithdrawnPayload(ad.content.retailer), command.ad_id);
  return AppendAt(command.ad_id, ad, withdrawn, "withdrawn", raced);
}

}  // namespace adsd::ads
