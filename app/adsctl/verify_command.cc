#include "app/adsctl/verify_command.h"

#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>

#include "app/common/data_dir.h"
#include "app/common/log_verify.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::app {

namespace {

struct VerifyArgs {
  std::string data_dir = "./data";
  std::string store;  // postgresql://...: verify that store instead of the data directory's log
  bool json = false;
};

// Prints the outcome; exit codes: 0 intact (a torn tail is only a warning), 1 damage found.
int Print(const LogVerifyReport& o, bool json) {
  if (json) {
    fmt::print("{}\n", LogVerifyJson(o));
    return o.problem ? 1 : 0;
  }
  fmt::print("records:   {}\nhead hash: {}\n", o.records, cqrs::ToHex(o.head_hash));
  if (o.torn_tail_bytes.value_or(0) > 0) {
    fmt::print("warning:   {} bytes of an unfinished write at the end (a crash); the next open truncates them\n",
               *o.torn_tail_bytes);
  }
  if (o.problem) {
    const std::string where =
        o.problem->segment_offset
            ? fmt::format(" ({} offset {})", o.problem->segment_offset->first, o.problem->segment_offset->second)
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
  auto report = VerifyPostgresLog(**store);
  if (!report.ok()) {
    fmt::print(stderr, "adsctl verify: {}\n", report.status().ToString());
    return 2;
  }
  return Print(*report, args.json);
}

// Exit codes: 0 intact (a torn tail is only a warning), 1 damage found, 2 cannot read.
int RunVerify(const VerifyArgs& args) {
  if (!args.store.empty()) return RunVerifyPostgres(args);
  auto report = VerifyEmbeddedLog(LogDir(args.data_dir));
  if (!report.ok()) {
    fmt::print(
        stderr, "adsctl verify: {}\n",
        report.status().code() == cqrs::StatusCode::kNotFound ? report.status().message() : report.status().ToString());
    return 2;
  }
  return Print(*report, args.json);
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
