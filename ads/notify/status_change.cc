#include "ads/notify/status_change.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include "ads/events.h"
#include "ads/read/read_model.h"
#include "cqrs/core/time.h"

namespace adsd::ads::notify {

namespace {

// The retailer named in a content or withdrawal payload.
std::optional<std::string> PayloadRetailer(std::string_view payload) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(payload);
  simdjson::dom::element doc;
  std::string_view retailer;
  if (parser.parse(padded).get(doc) || doc["retailer"].get_string().get(retailer)) return std::nullopt;
  return std::string(retailer);
}

}  // namespace

bool IsChangeType(std::string_view type) {
  for (std::string_view t : kChangeTypes) {
    if (t == type) return true;
  }
  return false;
}

std::string StatusChange::ToJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("type");
  w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
  w.Key("ad_id");
  w.String(ad_id.data(), static_cast<rapidjson::SizeType>(ad_id.size()));
  w.Key("status");
  w.String(status.data(), static_cast<rapidjson::SizeType>(status.size()));
  w.Key("reasons");
  w.RawValue(reasons_json.data(), reasons_json.size(), rapidjson::kArrayType);
  w.Key("version");
  w.Uint64(version);
  w.Key("position");
  w.Uint64(position.value());
  w.Key("occurred_at");
  const std::string at = cqrs::FormatRfc3339(occurred_at_us, cqrs::TimePrecision::kMillis);
  w.String(at.data(), static_cast<rapidjson::SizeType>(at.size()));
  w.EndObject();
  return buf.GetString();
}

cqrs::Result<std::optional<StatusChange>> StatusChanges::Decode(const cqrs::RecordedEvent& e) {
  StatusChange c;
  if (e.type == events::kSubmitted) {
    c.type = "ad.submitted", c.status = "pending";
  } else if (e.type == events::kChanged) {
    c.type = "ad.changed", c.status = "pending";
  } else if (e.type == events::kApproved) {
    c.type = "ad.approved", c.status = "approved";
  } else if (e.type == events::kRejected) {
    c.type = "ad.rejected", c.status = "rejected";
  } else if (e.type == events::kWithdrawn) {
    c.type = "ad.withdrawn", c.status = "withdrawn";
  } else {
    return std::optional<StatusChange>();
  }
  const auto ad_id = events::AdIdOf(e.stream);
  if (!ad_id) return std::optional<StatusChange>();
  c.ad_id = ad_id->ToString();
  if (e.type == events::kApproved || e.type == events::kRejected) {
    ASSIGN_OR_RETURN(c.reasons_json, events::ReasonsJson(e.payload));
  }
  ASSIGN_OR_RETURN(c.retailer, RetailerOf(e));
  c.version = e.version.value();
  c.position = e.position;
  c.occurred_at_us = e.timestamp_us;
  return std::optional<StatusChange>(std::move(c));
}

cqrs::Result<std::string> StatusChanges::RetailerOf(const cqrs::RecordedEvent& e) {
  const auto ad_id = events::AdIdOf(e.stream);
  const std::string key = ad_id ? ad_id->ToString() : e.stream;
  if (e.type != events::kApproved && e.type != events::kRejected) {
    auto named = PayloadRetailer(e.payload);
    if (!named) return cqrs::Corruption("event " + e.event_id.ToString() + " does not name its retailer");
    if (e.type == events::kSubmitted) Remember(key, *named);
    return *named;
  }
  {
    cqrs::MutexLock lock(mu_);
    if (auto it = retailers_.find(key); it != retailers_.end()) return it->second;
  }
  // A verdict on an ad submitted before this process looked: its first event names the owner.
  ASSIGN_OR_RETURN(auto first, store_.ReadStream(e.stream, cqrs::StreamVersion(1), 1));
  if (first.empty()) return cqrs::Corruption("stream " + e.stream + " has a verdict but no submission");
  auto named = PayloadRetailer(first.front().payload);
  if (!named) return cqrs::Corruption("the first event of " + e.stream + " does not name its retailer");
  Remember(key, *named);
  return *named;
}

void StatusChanges::Remember(const std::string& ad_id, const std::string& retailer) {
  cqrs::MutexLock lock(mu_);
  if (!retailers_.emplace(ad_id, retailer).second) return;
  order_.push_back(ad_id);
  while (order_.size() > cache_size_) {
    retailers_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace adsd::ads::notify
