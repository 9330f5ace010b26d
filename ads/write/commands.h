// The Write API's commands and their outcomes, free of HTTP.
//
// The HTTP routes (app/adsd/write_routes.cc) turn a request into one of these commands, hand it
// to an AdCommands implementation, and turn the outcome into an answer; everything in between
// (basic validation, idempotency, the current state of an ad, the pipelines) lives behind this
// interface (ads/write/command_handler.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ads/ad.h"
#include "ads/latency_model.h"
#include "ads/read/ad_queries.h"
#include "ads/sender.h"
#include "cqrs/core/types.h"
#include "cqrs/core/uuid.h"

namespace adsd::ads {

// The versions a command may act on (HTTP If-Match): any existing version (`*`), or one of a list.
struct VersionMatch {
  bool any = false;
  std::vector<cqrs::StreamVersion> versions;
  bool Matches(cqrs::StreamVersion v) const;
};

struct SubmitAd {
  Sender sender;
  std::string body;  // the ad as JSON, exactly as sent (its hash identifies the request)
  std::optional<std::string> idempotency_key;
  LatencyModel::Clock::time_point arrived = LatencyModel::Clock::now();  // basic validation began
};

struct ChangeAd {
  Sender sender;
  cqrs::Uuid ad_id;
  std::string body;  // a partial ad as JSON
  VersionMatch expected;
};

struct WithdrawAd {
  Sender sender;
  cqrs::Uuid ad_id;
  std::optional<VersionMatch> expected;  // none: whatever the current version is
};

// A command that took effect: the event is durable (or, in the sync pipeline, decided too).
struct Accepted {
  std::string ad_id;
  std::string status;  // "pending" or "withdrawn"
  cqrs::StreamVersion version;
  // The event's log position; none when the event is not stored yet (the optimized pipeline on
  // the bus answers once Kafka has the submission: a read waits on `version` instead).
  std::optional<cqrs::Position> position;
  bool created = false;          // a submission (the answer names where the ad lives)
  std::optional<AdRow> decided;  // the sync pipeline: the ad as the read model has it, decided
};

// Why a command did not take effect. Nothing was written, except where noted.
enum class RejectionCode {
  kInvalid,                // basic validation failed: `fields` says where
  kBadIdempotencyKey,      // the key is not 1-255 visible ASCII characters
  kIdempotencyKeyReused,   // the key was used with another request
  kIdempotencyKeyExpired,  // the key was used more than 24 hours ago
  kForbidden,              // an admin cannot submit ads
  kNotFound,               // no such ad, or another retailer's
  kWithdrawn,              // the ad is withdrawn and cannot change
  kStaleVersion,           // the ad is not at an expected version
  kUnavailable,            // the store is unavailable (the command may or may not have taken effect)
  kOverloaded,             // no room to run the command now: retry later
  kValidatorUnavailable,   // sync: the ad is stored but detailed validation could not run
  kReadModelBehind,        // sync: decided, but the read model has not shown it in time
};

struct Rejection {
  RejectionCode code;
  std::string detail;
  std::vector<FieldError> fields;
};

using CommandResult = std::variant<Accepted, Rejection>;
// Called exactly once, on any thread; it must not block.
using CommandDone = std::function<void(CommandResult)>;

class AdCommands {
 public:
  virtual ~AdCommands() = default;
  virtual void Submit(SubmitAd command, CommandDone done) = 0;
  virtual void Change(ChangeAd command, CommandDone done) = 0;
  virtual void Withdraw(WithdrawAd command, CommandDone done) = 0;
};

// Runs a task on a thread that may wait (a bounded pool); false when it has no room.
using BlockingExecutor = std::function<bool(std::function<void()>)>;

}  // namespace adsd::ads
