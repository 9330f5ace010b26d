#include "app/adsctl/verify_command.h"

#include <fmt/core.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <optional>
#include <string>

#include "app/common/data_dir.h"
#include "cqrs/log/verify.h"
#include "cqrs/store/postgres_store.h"
#include "cqrs/store/postgres_verify.h"

namespace adsd::app {

namespace {

struct VerifyArgs {
  std::string data_dir = "./data";
  std::string store;  // postgresql://...: verify that store instead of the data directory's log
  bool json = false;
};

// What either verifier found, in one shape for printing. The embedded log also names the
// segment file and offset of a problem, and may end with a torn tail.
struct Outcome {
  std::uint64_t records = 0;
  cqrs::Sha256Digest head_hash{};
  std::optional<std::uint64_t> torn_tail_bytes;  // the embedded log only
  struct Problem {
    cqrs::Position position;
    std::optional<std::pair<std::string, std::uint64_t>> segment_offset;  // the embedded log only
    std::string reason;
  };
  std::optional<Problem> problem;
};

std::string OutcomeJson(const Outcome& o) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("records");
  w.Uint64(o.records);
  w.Key("head_hash");
  w.String(cqrs::ToHex(o.head_hash).c_str());
  if (o.torn_tail_bytes) {
    w.Key("torn_tail_bytes");
    w.Uint64(*o.torn_tail_bytes);
  }
  w.Key("problem");
  if (o.problem) {
    w.StartObject();
    w.Key("position");
    w.Uint64(o.problem->position.value());
    if (o.problem->segment_offset) {
      w.Key("segment");
      w.String(o.problem->segment_offset->first.c_str());
      w.Key("offset");
      w.Uint64(o.problem->segment_offset->second);
    }
    w.Key("reason");
    w.String(o.problem->reason.c_str());
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return buf.GetString();
}

// Prints the outcome; exit codes: 0 intact (a torn tail is only a warning), 1 damage found.
int Print(const Outcome& o, bool json) {
  if (json) {
    fmt::print("{}\n", OutcomeJson(o));
    return o.problem ? 1 : 0;
  }
  fmt::print("records:   {}\nhead hash: {}\n", o.records, cqrs::ToHex(o.head_hash));
  if (o.torn_tail_bytes.value_or(0) > 0) {
    fmt::print("warning:   {} bytes of an unfinished write at the end (a crash); the next open truncates them\n",
               *o.torn_tail_bytes);
  }
  if (o.problem) {
    const std::string where = o.problem->segment_offset ? fmt::format(" ({} offset {})", o.problem->segment_offset->first,
                                                                      o.problem->segment_offset->second)
                                                        : "";
    fmt::print("DAMAGED:   position {}{}: {}\n", o.problem->position.value(), where, o.problem->reason);
  } else {
    fmt::print("intact\n");
  }
  return o.problem ? 1 : 0;
}

// The PostgreSQL store: positions without gaps and the hash chain.
int RunVerifyPostgres(const VerifyArgs& args) {
  auto store = cqrs::OpenPostgresEventStore({args.store});
  if (!store.ok()) {
    fmt::print(stderr, "adsctl verify: {}\n", store.status().ToString());
    return 2;
  }
  auto report = cqrs::VerifyPostgresChain(**store);
  if (!report.ok()) {
    fmt::print(stderr, "adsctl verify: {}\n", report.status().ToString());
    return 2;
  }
  Outcome o{report->records, report->head_hash, std::nullopt, std::nullopt};
  if (report->problem) o.problem = Outcome::Problem{report->problem->position, std::nullopt, report->problem->reason};
  return Print(o, args.json);
}

// Exit codes: 0 intact (a torn tail is only a warning), 1 damage found, 2 cannot read.
int RunVerify(const VerifyArgs& args) {
  if (!args.store.empty()) return RunVerifyPostgres(args);
  const auto dir = LogDir(args.data_dir);
  if (!std::filesystem::is_directory(dir)) {
    fmt::print(stderr, "adsctl verify: no log at {}\n", dir.string());
    return 2;
  }
  auto report = cqrs::log::VerifyLog(dir);
  if (!report.ok()) {
    fmt::print(stderr, "adsctl verify: {}\n", report.status().ToString());
    return 2;
  }
  const auto& r = *report;
  Outcome o{r.records, r.head_hash, r.torn_tail_bytes, std::nullopt};
  if (r.problem) {
    o.problem = Outcome::Problem{r.problem->position, std::make_pair(r.problem->segment, r.problem->offset),
                                 r.problem->reason};
  }
  return Print(o, args.json);
}

}  // namespace

void AddVerifyCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check the event log's frames, positions and hash chain (read-only; PostgreSQL with --store)");
  cmd->add_option("--data-dir", args->data_dir, "data directory")->capture_default_str();
  cmd->add_option("--store", args->store,
                  "verify this PostgreSQL event store (postgresql://...) instead of DATA_DIR's log");
  cmd->add_flag("--json", args->json, "print the report as JSON");
  cmd->callback([args, &exit_code] { exit_code = RunVerify(*args); });
}

}  // namespace adsd::app
