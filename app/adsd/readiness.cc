#include "app/adsd/readiness.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace adsd::app {

namespace {

bool WithinLag(std::uint64_t head, const ConsumerReadiness& c) {
  return c.status.ok() && head - std::min(head, c.position) <= kMaxReadyLag;
}

}  // namespace

bool IsReady(const ReadinessReport& r) {
  bool ready = r.store.ok();
  if (r.projection) ready = ready && WithinLag(r.log_head, *r.projection);
  if (r.validator) ready = ready && WithinLag(r.log_head, *r.validator);
  if (r.bus_consumer) ready = ready && r.bus_consumer->status.ok();
  if (r.ingest_consumer) ready = ready && r.ingest_consumer->status.ok();
  return ready;
}

std::string ReadinessJson(const ReadinessReport& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
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
    w.Key("bus_relay");
    w.StartObject();
    w.Key("status");
    w.String(r.bus_relay->status.ok() ? "ok" : "retrying");
    w.Key("leader");
    w.Bool(r.bus_relay->leader);
    w.Key("published");
    w.Uint64(r.bus_relay->published);
    w.EndObject();
  }
  w.Key("ready");
  w.Bool(IsReady(r));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace adsd::app
