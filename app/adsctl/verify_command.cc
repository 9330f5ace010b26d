#include "app/adsctl/verify_command.h"

#include <fmt/core.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
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

// The PostgreSQL store: positions without gaps and the hash chain. Same exit codes.
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
  const auto& r = *report;
  if (args.json) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("records");
    w.Uint64(r.records);
    w.Key("head_hash");
    w.String(cqrs::ToHex(r.head_hash).c_str());
    w.Key("problem");
    if (r.problem) {
      w.StartObject();
      w.Key("position");
      w.Uint64(r.problem->position.value());
      w.Key("reason");
      w.String(r.problem->reason.c_str());
      w.EndObject();
    } else {
      w.Null();
    }
    w.EndObject();
    fmt::print("{}\n", buf.GetString());
  } else {
    fmt::print("records:   {}\nhead hash: {}\n", r.records, cqrs::ToHex(r.head_hash));
    if (r.problem) {
      fmt::print("DAMAGED:   position {}: {}\n", r.problem->position.value(), r.problem->reason);
    } else {
      fmt::print("intact\n");
    }
  }
  return r.problem ? 1 : 0;
}

std::string ReportJson(const cqrs::log::VerifyReport& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("records");
  w.Uint64(r.records);
  w.Key("head_hash");
  w.String(cqrs::ToHex(r.head_hash).c_str());
  w.Key("torn_tail_bytes");
  w.Uint64(r.torn_tail_bytes);
  w.Key("problem");
  if (r.problem) {
    w.StartObject();
    w.Key("position");
    w.Uint64(r.problem->position.value());
    w.Key("segment");
    w.String(r.problem->segment.c_str());
    w.Key("offset");
    w.Uint64(r.problem->offset);
    w.Key("reason");
    w.String(r.problem->reason.c_str());
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return buf.GetString();
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
  if (args.json) {
    fmt::print("{}\n", ReportJson(r));
  } else {
    fmt::print("records:   {}\nhead hash: {}\n", r.records, cqrs::ToHex(r.head_hash));
    if (r.torn_tail_bytes > 0) {
      fmt::print(
          "warning:   {} bytes of an unfinished write at the end (a crash); the next open "
          "truncates them\n",
          r.torn_tail_bytes);
    }
    if (r.problem) {
      fmt::print("DAMAGED:   position {} ({} offset {}): {}\n", r.problem->position.value(),
                 r.problem->segment, r.problem->offset, r.problem->reason);
    } else {
      fmt::print("intact\n");
    }
  }
  return r.problem ? 1 : 0;
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
