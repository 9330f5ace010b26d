// Idempotency-Key without a table of keys (docs/architecture.md, "Decisions").
//
// A submission with a key gets an ad id derived from (retailer, key) and an event id derived
// from the ad id, and carries the SHA-256 of its body in the event's metadata. A retry appends
// the same event to the same stream, which the store answers as a replay together with what the
// first append stored; the body hash and the time then tell a true retry from a reuse.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ads/write/commands.h"
#include "cqrs/core/uuid.h"
#include "cqrs/store/event_store.h"

namespace adsd::ads {

// A retry within this window gets the first answer; later, the key is refused.
inline constexpr std::int64_t kIdempotencyWindowUs = 24LL * 3600 * 1'000'000;

// 1-255 visible ASCII characters.
bool ValidIdempotencyKey(std::string_view key);
// The ad id a retailer's key names, the same for every retry.
cqrs::Uuid IdempotentAdId(const std::string& retailer, std::string_view key);
// The metadata that identifies the request: {"request_sha256": "<hex of the body>"}.
std::string RequestMetadata(std::string_view body);
// The request hash a submission's metadata carries, if any (other members are ignored: the
// pipeline that carried it may add its own).
std::optional<std::string> RequestHash(std::string_view metadata);
// For an append that may have been a replay: nullopt when it is new or a true retry (answer as
// the first time), or why the request is refused.
std::optional<Rejection> CheckReplay(const cqrs::AppendResult& result, const std::string& metadata);
// The same, against what the first request stored, `original` (its time and metadata).
std::optional<Rejection> CheckRetry(const cqrs::AppendResult::Original& original, const std::string& metadata);

}  // namespace adsd::ads
