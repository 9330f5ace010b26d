#include "ads/events.h"

#include <simdjson.h>

#include "ads/ad_json.h"
#include "ads/json_writer.h"
#include "cqrs/core/sha256.h"

namespace adsd::ads::events {

std::optional<cqrs::Uuid> AdIdOf(std::string_view stream) {
  if (!stream.starts_with(kStreamPrefix)) return std::nullopt;
  return cqrs::Uuid::Parse(stream.substr(kStreamPrefix.size()));
}

std::string ContentPayload(const std::string& retailer, const Ad& ad) {
  JsonWriter w;
  const std::string ad_json = AdToJson(ad);
  w.StartObject();
  w.Field("retailer", retailer);
  w.Key("ad");
  w.RawValue(ad_json.data(), ad_json.size(), rapidjson::kObjectType);
  w.EndObject();
  return w.Text();
}

cqrs::Result<AdContent> ParseContent(std::string_view payload) {
  thread_local simdjson::dom::parser parser;  // reused: a parser allocates its buffers on first use
  simdjson::dom::element doc;
  simdjson::padded_string padded(payload);
  if (parser.parse(padded).get(doc)) return cqrs::Corruption("ad event payload is not JSON");
  std::string_view retailer;
  simdjson::dom::element ad;
  if (doc["retailer"].get_string().get(retailer) || doc["ad"].get(ad)) {
    return cqrs::Corruption("ad event payload lacks retailer or ad");
  }
  ParsedAd parsed = ParseAd(simdjson::minify(ad));
  if (!parsed.ok()) return cqrs::Corruption("ad event payload holds an invalid ad: " + parsed.errors[0].field);
  return AdContent{std::string(retailer), std::move(parsed.ad)};
}

std::string VerdictPayload(const std::vector<Finding>& reasons) {
  JsonWriter w;
  w.StartObject();
  w.Key("reasons");
  w.StartArray();
  for (const Finding& f : reasons) {
    w.StartObject();
    w.Field("code", f.code);
    w.Field("field", f.field);
    w.Field("message", f.message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Text();
}

cqrs::Result<RawContent> ParseRawContent(std::string_view payload) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(payload);
  if (parser.parse(padded).get(doc)) return cqrs::Corruption("ad event payload is not JSON");
  std::string_view retailer;
  simdjson::dom::object ad;
  if (doc["retailer"].get_string().get(retailer) || doc["ad"].get_object().get(ad)) {
    return cqrs::Corruption("ad event payload lacks retailer or ad");
  }
  return RawContent{std::string(retailer), simdjson::minify(ad)};
}

cqrs::Result<std::string> ReasonsJson(std::string_view payload) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(payload);
  simdjson::dom::array reasons;
  if (parser.parse(padded).get(doc) || doc["reasons"].get_array().get(reasons)) {
    return cqrs::Corruption("verdict payload lacks reasons");
  }
  return simdjson::minify(reasons);
}

std::string WithdrawnPayload(const std::string& retailer) {
  JsonWriter w;
  w.StartObject();
  w.Field("retailer", retailer);
  w.EndObject();
  return w.Text();
}

cqrs::Uuid DerivedId(const cqrs::Uuid& source, std::string_view purpose) {
  std::string input(reinterpret_cast<const char*>(source.bytes.data()), source.bytes.size());
  input += purpose;
  const cqrs::Sha256Digest d = cqrs::Sha256(input);
  cqrs::Uuid u;
  std::copy_n(d.begin(), 16, u.bytes.begin());
  u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0F) | 0x80);  // version 8: custom
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return u;
}

}  // namespace adsd::ads::events
