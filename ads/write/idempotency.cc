#include "ads/write/idempotency.h"

#include <rapidjson/document.h>
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

std::optional<std::string> RequestHash(std::string_view metadata) {
  rapidjson::Document d;
  if (metadata.empty() || d.Parse(metadata.data(), metadata.size()).HasParseError() || !d.IsObject()) {
    return std::nullopt;
  }
  const rapidjson::Document& doc = d;  // const iterators: clang finds the non-const == ambiguous
  const auto it = doc.FindMember("request_sha256");
  if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<Rejection> CheckRetry(const cqrs::AppendResult::Original& original, const std::string& metadata) {
  if (RequestHash(original.metadata) != RequestHash(metadata)) {
    return Rejection{RejectionCode::kIdempotencyKeyReused, "this Idempotency-Key was used for a different request", {}};
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (now - original.timestamp_us > kIdempotencyWindowUs) {
    return Rejection{RejectionCode::kIdempotencyKeyExpired,
                     "this Idempotency-Key was used more than 24 hours ago; use a new one",
                     {}};
  }
  return std::nullopt;
}

std::optional<Rejection> CheckReplay(const cqrs::AppendResult& result, const std::string& metadata) {
  if (!result.idempotent_replay) return std::nullopt;
  if (!result.original) {
    return Rejection{RejectionCode::kUnavailable, "the store did not say what the first request stored", {}};
  }
  return CheckRetry(*result.original, metadata);
}

}  // namespace adsd::ads
