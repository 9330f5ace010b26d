#include "app/common/log_verify.h"

#include "ads/json_writer.h"
#include "cqrs/log/verify.h"
#include "cqrs/store/postgres/verify.h"

namespace adsd::app {

cqrs::Result<LogVerifyReport> VerifyEmbeddedLog(const std::filesystem::path& log_dir) {
  if (!std::filesystem::is_directory(log_dir)) return cqrs::NotFound("no log at " + log_dir.string());
  ASSIGN_OR_RETURN(const cqrs::log::VerifyReport r, cqrs::log::VerifyLog(log_dir));
  LogVerifyReport o{r.records, r.head_hash, r.torn_tail_bytes, std::nullopt};
  if (r.problem) {
    o.problem = LogVerifyReport::Problem{r.problem->position, std::make_pair(r.problem->segment, r.problem->offset),
                                         r.problem->reason};
  }
  return o;
}

cqrs::Result<LogVerifyReport> VerifyPostgresLog(const cqrs::EventStore& store) {
  ASSIGN_OR_RETURN(const cqrs::ChainReport r, cqrs::VerifyPostgresChain(store));
  LogVerifyReport o{r.records, r.head_hash, std::nullopt, std::nullopt};
  if (r.problem) o.problem = LogVerifyReport::Problem{r.problem->position, std::nullopt, r.problem->reason};
  return o;
}

std::string LogVerifyJson(const LogVerifyReport& r) {
  ads::JsonWriter w;
  w.StartObject();
  w.Key("records");
  w.Uint64(r.records);
  w.Key("head_hash");
  w.String(cqrs::ToHex(r.head_hash));
  if (r.torn_tail_bytes) {
    w.Key("torn_tail_bytes");
    w.Uint64(*r.torn_tail_bytes);
  }
  w.Key("problem");
  if (r.problem) {
    w.StartObject();
    w.Key("position");
    w.Uint64(r.problem->position.value());
    if (r.problem->segment_offset) {
      w.Key("segment");
      w.String(r.problem->segment_offset->first);
      w.Key("offset");
      w.Uint64(r.problem->segment_offset->second);
    }
    w.Key("reason");
    w.String(r.problem->reason);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Text();
}

}  // namespace adsd::app
