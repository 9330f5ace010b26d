#include "ads/write/idempotency.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>

#include "ads/events.h"
#include "cqrs/core/sha256.h"

namespace adsd::ads {

bool ValidIdempotencyKey(std::string_view k) {
  return !k.empty() && k.size() <= 255 && std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

cqrs::Uuid IdempotentAdId(const std::string& retailer, std::string_view key) {
  return events::DerivedId(cqrs::Uuid::Nil(), "idempotency\x1f" + retailer + "\x1f" + std::string(key));
}

std::string RequestMetadata(std::string_view body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("request_sha256");
  w.String(cqrs::ToHex(cqrs::Sha256(body)).c_str());
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::optional<Rejection> CheckReplay(const cqrs::AppendResult& result, const std::string& metadata) {
  if (!result.idempotent_replay) return std::nullopt;
  if (!result.original) {
    return Rejection{RejectionCode::kUnavailable, "the store did not say what the first request stored", {}};
  }
  if (result.original->metadata != metadata) {
    return Rejection{RejectionCode::kIdempotencyKeyReused, "this Idempotency-Key was used for a different request", {}};
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (now - result.original->timestamp_us > kIdempotencyWindowUs) {
    return Rejection{RejectionCode::kIdempotencyKeyExpired,
                     "this Idempotency-Key was used more than 24 hours ago; use a new one", {}};
  }
  return std::nullopt;
}

}  // namespace adsd::ads
