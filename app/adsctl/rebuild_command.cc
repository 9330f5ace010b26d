#include "app/adsctl/rebuild_command.h"

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "ads/read_model.h"
#include "app/common/data_dir.h"
#include "cqrs/projection/fresh_file_rebuild.h"
#include "cqrs/store/embedded_store.h"
#include "http/client.h"

namespace adsd::app {

namespace {

namespace fs = std::filesystem;

struct RebuildArgs {
  std::string data_dir = "./data";
  std::string projection = "ads";
  std::string read_db;  // sqlite:PATH: the read model adsd keeps there instead of DATA_DIR's
  std::string url;      // a running adsd: ask it to rebuild online
  std::string token;    // an admin token for it
};

// Asks a running adsd to rebuild while it keeps serving (POST /v1/admin/rebuild).
int RunOnline(const RebuildArgs& args) {
  auto url = http::Url::Parse(args.url + "/v1/admin/rebuild");
  if (!url.ok()) {
    fmt::print(stderr, "adsctl rebuild: {}\n", url.status().ToString());
    return 2;
  }
  fmt::print("asking {} to rebuild {} online (it keeps serving meanwhile)...\n", args.url, args.projection);
  http::HttpClient client(*url);
  auto r = client.PostJson("", std::chrono::hours(1), {{"Authorization", "Bearer " + args.token}});
  if (!r.ok()) {
    fmt::print(stderr, "adsctl rebuild: {}\n", r.status().ToString());
    return 1;
  }
  if (r->status != 200) {
    fmt::print(stderr, "adsctl rebuild: adsd answered {}: {}\n", r->status, r->body);
    return 1;
  }
  fmt::print("{}\n", r->body);
  return 0;
}

// Builds the read model from position 1 into a fresh database next to the live one, then swaps it
// in with a rename (cqrs/projection/fresh_file_rebuild.h). The live database is untouched until
// the swap, so an interrupted rebuild leaves the read model as it was.
int RunRebuild(const RebuildArgs& args) {
  if (args.projection != "ads") {
    fmt::print(stderr, "adsctl rebuild: unknown projection '{}' (known: ads)\n", args.projection);
    return 2;
  }
  if (args.url.empty() != args.token.empty()) {
    fmt::print(stderr, "adsctl rebuild: --url and --token go together (a running adsd and an admin token for it)\n");
    return 2;
  }
  if (!args.url.empty()) return RunOnline(args);
  if (!args.read_db.empty() && (!args.read_db.starts_with("sqlite:") || args.read_db.size() == 7)) {
    fmt::print(stderr,
               "adsctl rebuild: --read-db: expected sqlite:PATH, got '{}' (a read model in PostgreSQL is rebuilt "
               "online: --url)\n",
               args.read_db);
    return 2;
  }
  // Opening the store creates a missing log: a mistyped --data-dir would "rebuild" an empty one.
  if (!fs::is_directory(LogDir(args.data_dir))) {
    fmt::print(stderr, "adsctl rebuild: no log at {}\n", LogDir(args.data_dir).string());
    return 2;
  }
  auto store = cqrs::OpenEmbeddedEventStore({LogDir(args.data_dir)});
  if (!store.ok()) {
    fmt::print(stderr, "adsctl rebuild: {}\n", store.status().ToString());
    if (store.status().code() == cqrs::StatusCode::kUnavailable) {
      fmt::print(stderr,
                 "  adsd is running (one process owns the log at a time): rebuild online with\n"
                 "  adsctl rebuild --url http://HOST:PORT --token <admin token>, or stop adsd first\n");
    }
    return 2;
  }
  const fs::path live = args.read_db.empty() ? ReadModelPath(args.data_dir) : fs::path(args.read_db.substr(7));
  const bool tty = isatty(STDOUT_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t next_report = 0;
  cqrs::projection::FreshFileRebuildOptions options;
  options.progress = [&](cqrs::Position done, cqrs::Position head) {
    if (head.value() == 0 || (!tty && done.value() < next_report && done != head)) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("{}rebuilding {}: {}/{} events ({:.0f}%), {:.0f} events/s{}", tty ? "\r" : "", args.projection,
               done.value(), head.value(),
               100.0 * static_cast<double>(done.value()) / static_cast<double>(head.value()),
               secs > 0 ? static_cast<double>(done.value()) / secs : 0.0, tty ? "" : "\n");
    std::fflush(stdout);
    next_report = done.value() + 1'000'000;
  };
  ads::AdsReadModel model;
  auto rebuilt = cqrs::projection::RebuildIntoFreshFile(**store, model, live, options);
  if (!rebuilt.ok()) {
    fmt::print(stderr, "\nadsctl rebuild: {}\n", rebuilt.status().ToString());
    return 1;
  }
  const double secs = rebuilt->seconds;
  fmt::print("{}rebuilt {} from {} events in {:.2f} s ({:.0f} events/s) into {}\n", tty ? "\n" : "", args.projection,
             rebuilt->events, secs, secs > 0 ? static_cast<double>(rebuilt->events) / secs : 0.0, live.string());
  return 0;
}

}  // namespace

void AddRebuildCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RebuildArgs>();
  CLI::App* cmd = app.add_subcommand(
      "rebuild", "Rebuild read models from the event log (offline, or online through a running adsd with --url)");
  cmd->add_option("--data-dir", args->data_dir, "data directory")->capture_default_str();
  cmd->add_option("--projection", args->projection, "the read model to rebuild")->capture_default_str();
  cmd->add_option("--read-db", args->read_db, "sqlite:PATH: the read model adsd --read-db keeps there");
  cmd->add_option("--url", args->url, "a running adsd (http://HOST:PORT): rebuild online through it");
  cmd->add_option("--token", args->token, "an admin token for --url");
  cmd->callback([args, &exit_code] { exit_code = RunRebuild(*args); });
}

}  // namespace adsd::app
