#include "app/adsctl/repair_command.h"

#include <fmt/core.h>

#include <filesystem>
#include <memory>

#include "app/common/consumers_ahead.h"
#include "app/common/data_dir.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::app {

namespace {

struct RepairArgs {
  std::string data_dir = "./data";
  std::string read_db;  // sqlite:PATH, as given to adsd --read-db
};

int RunRepair(const RepairArgs& args) {
  if (!args.read_db.empty() && (!args.read_db.starts_with("sqlite:") || args.read_db.size() == 7)) {
    fmt::print(stderr, "adsctl repair: --read-db: expected sqlite:PATH, got '{}'\n", args.read_db);
    return 2;
  }
  // Opening the store creates a missing log: a mistyped --data-dir would find "nothing to repair".
  if (!std::filesystem::is_directory(LogDir(args.data_dir))) {
    fmt::print(stderr, "adsctl repair: no log at {}\n", LogDir(args.data_dir).string());
    return 2;
  }
  cqrs::log::RecoveryReport recovery;
  cqrs::EmbeddedStoreOptions o{LogDir(args.data_dir)};
  o.on_recovery = [&recovery](const cqrs::log::RecoveryReport& r) { recovery = r; };
  auto store = cqrs::OpenEmbeddedEventStore(o);
  if (!store.ok()) {
    fmt::print(stderr, "adsctl repair: {}\n", store.status().ToString());
    if (store.status().code() == cqrs::StatusCode::kUnavailable) {
      fmt::print(stderr, "  adsd is running (one process owns the log at a time): stop it first\n");
    }
    return 2;
  }
  if (const std::string cut = cqrs::log::DescribeTruncation(recovery); !cut.empty()) fmt::print("{}\n", cut);
  const std::filesystem::path read_model =
      args.read_db.empty() ? ReadModelPath(args.data_dir) : std::filesystem::path(args.read_db.substr(7));
  const cqrs::Position head = (*store)->Head();
  auto repairs = CheckConsumersNotAhead(args.data_dir, read_model, head, AheadPolicy::kRepair);
  if (!repairs.ok()) {
    fmt::print(stderr, "adsctl repair: {}\n", repairs.status().ToString());
    return 1;
  }
  if (repairs->empty()) fmt::print("nothing to repair: no consumer is past the log head ({})\n", head.value());
  for (const std::string& line : *repairs) fmt::print("{}\n", line);
  return 0;
}

}  // namespace

void AddRepairCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RepairArgs>();
  CLI::App* cmd =
      app.add_subcommand("repair",
                         "Set right consumers left past the log head by log recovery (adsd stopped): the read model is "
                         "rebuilt from the log at the next start, the validator offset goes back to the head");
  cmd->add_option("--data-dir", args->data_dir, "data directory")->capture_default_str();
  cmd->add_option("--read-db", args->read_db, "sqlite:PATH: the read model adsd --read-db keeps there");
  cmd->callback([args, &exit_code] { exit_code = RunRepair(*args); });
}

}  // namespace adsd::app
