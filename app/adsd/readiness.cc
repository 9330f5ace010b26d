#include "app/adsd/readiness.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "ads/json_writer.h"

namespace adsd::app {

namespace {

// A role one process leads among several (informational): {"status","leader",<progress>}.
void AddLeaderRole(ads::JsonWriter& w, const char* key, const cqrs::Status& status, bool leader,
                   const char* progress_key, std::uint64_t progress) {
  w.Key(key);
  w.StartObject();
  w.Key("status");
  w.String(status.ok() ? "ok" : "retrying");
  w.Key("leader");
  w.Bool(leader);
  w.Key(progress_key);
  w.Uint64(progress);
  w.EndObject();
}

bool WithinLag(std::uint64_t head, const ConsumerReadiness& c) {
  return c.status.ok() && head - std::min(head, c.position) <= kMaxReadyLag;
}

// A status message as one short line: the reason is read by people, the full one is in the log.
std::string OneLine(const cqrs::Status& st) {
  std::string m = st.message();
  if (const auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  constexpr std::size_t kMax = 200;
  if (m.size() > kMax) m = m.substr(0, kMax) + "...";
  return m;
}

void AddConsumerReason(std::vector<std::string>& out, std::string_view name, std::uint64_t head,
                       const ConsumerReadiness& c) {
  if (!c.status.ok()) {
    out.push_back(std::string(name) + " stopped: " + OneLine(c.status));
  } else if (!WithinLag(head, c)) {
    out.push_back(std::string(name) + " is " + std::to_string(head - c.position) +
                  " events behind the log head (ready within " + std::to_string(kMaxReadyLag) + ")");
  }
}

}  // namespace

std::string NotReadyReason(const ReadinessReport& r) {
  std::vector<std::string> parts;
  if (!r.store.ok()) parts.push_back("store unavailable: " + OneLine(r.store));
  if (r.read_model && !r.read_model->ok()) parts.push_back("read model database unreadable: " + OneLine(*r.read_model));
  if (r.projection) AddConsumerReason(parts, "projection", r.log_head, *r.projection);
  if (r.validator) AddConsumerReason(parts, "validator", r.log_head, *r.validator);
  if (r.bus_consumer && !r.bus_consumer->status.ok()) {
    parts.push_back("bus consumer unavailable: " + OneLine(r.bus_consumer->status));
  }
  if (r.ingest_consumer && !r.ingest_consumer->status.ok()) {
    parts.push_back("ingest consumer unavailable: " + OneLine(r.ingest_consumer->status));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

bool IsReady(const ReadinessReport& r) {
  bool ready = r.store.ok();
  if (r.read_model) ready = ready && r.read_model->ok();
  if (r.projection) ready = ready && WithinLag(r.log_head, *r.projection);
  if (r.validator) ready = ready && WithinLag(r.log_head, *r.validator);
  if (r.bus_consumer) ready = ready && r.bus_consumer->status.ok();
  if (r.ingest_consumer) ready = ready && r.ingest_consumer->status.ok();
  return ready;
}

std::string ReadinessJson(const ReadinessReport& r) {
  ads::JsonWriter w;
  const std::string_view role = RoleName(r.role);
  w.StartObject();
  w.Key("role");
  w.String(role.data(), static_cast<rapidjson::SizeType>(role.size()));
  w.Key("store");
  w.String(r.store.ok() ? "ok" : "unavailable");
  w.Key("log_head");
  w.Uint64(r.log_head);
  if (r.projection) {
    w.Key("projection_position");
    w.Uint64(r.projection->position);
  }
  if (r.read_model) {
    w.Key("read_model");
    w.String(r.read_model->ok() ? "ok" : "unavailable");
  }
  if (r.projection_leader) {
    w.Key("projection_leader");
    w.Bool(*r.projection_leader);
  }
  if (r.validator) {
    w.Key("validator_position");
    w.Uint64(r.validator->position);
  }
  if (r.bus_consumer) {
    w.Key("bus_partitions");
    w.Int(r.bus_consumer->partitions);
    w.Key("bus_consumer");
    w.String(r.bus_consumer->status.ok() ? "ok" : "unavailable");
  }
  if (r.ingest_consumer) {
    w.Key("ingest_partitions");
    w.Int(r.ingest_consumer->partitions);
    w.Key("ingest_consumer");
    w.String(r.ingest_consumer->status.ok() ? "ok" : "unavailable");
  }
  if (r.bus_relay) {
    AddLeaderRole(w, "bus_relay", r.bus_relay->status, r.bus_relay->leader, "published", r.bus_relay->published);
  }
  if (r.webhooks) {
    AddLeaderRole(w, "webhooks", r.webhooks->status, r.webhooks->leader, "position", r.webhooks->position);
  }
  const bool ready = IsReady(r);
  w.Key("ready");
  w.Bool(ready);
  if (!ready) {
    const std::string reason = NotReadyReason(r);
    w.Key("reason");
    w.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
  }
  w.EndObject();
  return w.Text();
}

}  // namespace adsd::app
