#include "app/adsctl/rebuild_command.h"

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "ads/read/read_model.h"
#include "app/common/data_dir.h"
#include "cqrs/core/time.h"
#include "cqrs/projection/fresh_file_rebuild.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/log_prefix_store.h"
#include "cqrs/store/log_snapshot_store.h"
#include "cqrs/store/postgres/store.h"
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
  // A past read model: the log up to a position or a time, into a new file (from the data
  // directory's log, or from a PostgreSQL store).
  std::optional<std::uint64_t> to_position;
  std::string to_time;
  std::string into;   // sqlite:NEW
  std::string store;  // postgresql://...
};

// Prints progress the same way for every kind of rebuild.
std::function<void(cqrs::Position, cqrs::Position)> ProgressPrinter(const std::string& projection) {
  struct State {
    bool tty = isatty(STDOUT_FILENO) != 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::uint64_t next_report = 0;
  };
  auto state = std::make_shared<State>();
  return [state, projection](cqrs::Position done, cqrs::Position head) {
    if (head.value() == 0 || (!state->tty && done.value() < state->next_report && done != head)) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - state->started).count();
    fmt::print("{}rebuilding {}: {}/{} events ({:.0f}%), {:.0f} events/s{}", state->tty ? "\r" : "", projection,
               done.value(), head.value(),
               100.0 * static_cast<double>(done.value()) / static_cast<double>(head.value()),
               secs > 0 ? static_cast<double>(done.value()) / secs : 0.0, state->tty ? "" : "\n");
    std::fflush(stdout);
    state->next_report = done.value() + 1'000'000;
  };
}

// The read model as it stood at a past point of the log, into a new file, for an audit. Reads the
// log without its lock (adsd may be serving) or the PostgreSQL store through a read-only view.
int RunPastRebuild(const RebuildArgs& args) {
  if (args.to_position.has_value() == !args.to_time.empty()) {
    fmt::print(stderr, "adsctl rebuild: --into needs exactly one of --to-position and --to-time\n");
    return 2;
  }
  if (!args.into.starts_with("sqlite:") || args.into.size() == 7) {
    fmt::print(stderr, "adsctl rebuild: --into: expected sqlite:NEW (a new file), got '{}'\n", args.into);
    return 2;
  }
  if (!args.url.empty() || !args.read_db.empty()) {
    fmt::print(stderr, "adsctl rebuild: --into builds a separate read model: not with --url or --read-db\n");
    return 2;
  }
  cqrs::LogPoint until;
  if (args.to_position) {
    if (*args.to_position == 0) {
      fmt::print(stderr, "adsctl rebuild: --to-position: positions start at 1\n");
      return 2;
    }
    until.position = cqrs::Position(*args.to_position);
  } else {
    auto t = cqrs::ParseRfc3339(args.to_time);
    if (!t.ok()) {
      fmt::print(stderr, "adsctl rebuild: --to-time: expected an RFC 3339 time (2026-12-01T10:00:00Z), got '{}'\n",
                 args.to_time);
      return 2;
    }
    until.time = *t;
  }
  const fs::path into(args.into.substr(7));
  if (fs::exists(into)) {
    fmt::print(stderr, "adsctl rebuild: {} exists: a past read model goes into a new file\n", into.string());
    return 2;
  }
  std::unique_ptr<cqrs::EventStore> source;  // what `view` reads, when it is a PostgreSQL store
  cqrs::Result<std::unique_ptr<cqrs::EventStore>> view = cqrs::InvalidArgument("no source");
  if (!args.store.empty()) {
    auto pg = cqrs::OpenPostgresEventStore({args.store});
    if (!pg.ok()) {
      fmt::print(stderr, "adsctl rebuild: {}\n", pg.status().ToString());
      return 2;
    }
    source = std::move(*pg);
    view = cqrs::OpenLogPrefix(*source, until);
  } else {
    if (!fs::is_directory(LogDir(args.data_dir))) {
      fmt::print(stderr, "adsctl rebuild: no log at {}\n", LogDir(args.data_dir).string());
      return 2;
    }
    view = cqrs::OpenLogSnapshot({LogDir(args.data_dir), until});
  }
  if (!view.ok()) {
    fmt::print(stderr, "adsctl rebuild: {}\n", view.status().ToString());
    return view.status().code() == cqrs::StatusCode::kCorruption ? 1 : 2;
  }
  cqrs::projection::FreshFileRebuildOptions options;
  options.progress = ProgressPrinter(args.projection);
  ads::AdsReadModel model;
  auto rebuilt = cqrs::projection::RebuildIntoNewFile(**view, model, into, options);
  if (!rebuilt.ok()) {
    fmt::print(stderr, "\nadsctl rebuild: {}\n", rebuilt.status().ToString());
    return rebuilt.status().code() == cqrs::StatusCode::kCorruption ? 1 : 2;
  }
  fmt::print("{}rebuilt {} as it stood at position {} ({} events) in {:.2f} s into {}\n",
             isatty(STDOUT_FILENO) != 0 ? "\n" : "", args.projection, (*view)->Head().value(), rebuilt->events,
             rebuilt->seconds, into.string());
  return 0;
}

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
  if (!args.into.empty()) return RunPastRebuild(args);
  if (args.to_position || !args.to_time.empty() || !args.store.empty()) {
    fmt::print(stderr,
               "adsctl rebuild: --to-position, --to-time and --store build a past read model: add --into sqlite:NEW\n");
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
  cqrs::projection::FreshFileRebuildOptions options;
  options.progress = ProgressPrinter(args.projection);
  ads::AdsReadModel model;
  auto rebuilt = cqrs::projection::RebuildIntoFreshFile(**store, model, live, options);
  if (!rebuilt.ok()) {
    fmt::print(stderr, "\nadsctl rebuild: {}\n", rebuilt.status().ToString());
    return 1;
  }
  const double secs = rebuilt->seconds;
  fmt::print("{}rebuilt {} from {} events in {:.2f} s ({:.0f} events/s) into {}\n",
             isatty(STDOUT_FILENO) != 0 ? "\n" : "", args.projection, rebuilt->events, secs,
             secs > 0 ? static_cast<double>(rebuilt->events) / secs : 0.0, live.string());
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
  cmd->add_option("--to-position", args->to_position,
                  "a past read model: the log up to this position (with --into; adsd may keep serving)");
  cmd->add_option("--to-time", args->to_time,
                  "a past read model: the log up to the last event at or before this RFC 3339 time (with --into)");
  cmd->add_option("--into", args->into, "sqlite:NEW: the new file the past read model goes into (never replaced)");
  cmd->add_option("--store", args->store, "postgresql://...: build the past read model from this store");
  cmd->callback([args, &exit_code] { exit_code = RunRebuild(*args); });
}

}  // namespace adsd::app
