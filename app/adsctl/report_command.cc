#include "app/adsctl/report_command.h"

#include <fmt/core.h>

#include <fstream>
#include <memory>

#include "ads/ad_json.h"
#include "ads/read/pg_ad_queries.h"
#include "ads/read/sqlite_ad_queries.h"
#include "app/common/data_dir.h"
#include "cqrs/core/time.h"

namespace adsd::app {

namespace {

struct ReportArgs {
  std::string data_dir = "./data";
  std::string read_db;  // postgresql://... or sqlite:PATH: that read model instead of DATA_DIR's
  std::string retailer;
  std::string date;
  std::string out;
};

// Reads the read model (read-only, so it works while adsd runs) and writes RFC 4180 CSV.
int RunReport(const ReportArgs& args) {
  if (!cqrs::ParseUtcDay(args.date).ok()) {
    fmt::print(stderr, "adsctl report: --date must be YYYY-MM-DD, got '{}'\n", args.date);
    return 2;
  }
  std::unique_ptr<ads::AdQueries> queries;
  if (args.read_db.starts_with("postgresql://") || args.read_db.starts_with("postgres://")) {
    queries = std::make_unique<ads::PgAdQueries>(args.read_db, 1);
  } else {
    if (!args.read_db.empty() && !args.read_db.starts_with("sqlite:")) {
      fmt::print(stderr, "adsctl report: --read-db: expected postgresql://... or sqlite:PATH, got '{}'\n",
                 args.read_db);
      return 2;
    }
    const std::filesystem::path db =
        args.read_db.empty() ? ReadModelPath(args.data_dir) : std::filesystem::path(args.read_db.substr(7));
    if (!std::filesystem::exists(db)) {
      fmt::print(stderr, "adsctl report: no read model at {}\n", db.string());
      return 2;
    }
    queries = std::make_unique<ads::SqliteAdQueries>(db);
  }
  auto rows = queries->DecidedOn(args.retailer, args.date);
  if (!rows.ok()) {
    fmt::print(stderr, "adsctl report: {}\n", rows.status().ToString());
    return 1;
  }
  const std::string csv = ads::DailyReportCsv(*rows);
  if (args.out.empty()) {
    fmt::print("{}", csv);
    return 0;
  }
  std::ofstream out(args.out, std::ios::binary);
  out << csv;
  if (!out) {
    fmt::print(stderr, "adsctl report: cannot write {}\n", args.out);
    return 1;
  }
  fmt::print(stderr, "wrote {} ads to {}\n", rows->size(), args.out);
  return 0;
}

}  // namespace

void AddReportCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "Write a retailer's daily report as CSV");
  cmd->add_option("--data-dir", args->data_dir, "data directory")->capture_default_str();
  cmd->add_option("--read-db", args->read_db,
                  "the read model adsd --read-db names (postgresql://... or sqlite:PATH) instead of DATA_DIR's");
  cmd->add_option("--retailer", args->retailer, "retailer")->required();
  cmd->add_option("--date", args->date, "day, YYYY-MM-DD (UTC)")->required();
  cmd->add_option("--out", args->out, "file to write (default: standard output)");
  cmd->callback([args, &exit_code] { exit_code = RunReport(*args); });
}

}  // namespace adsd::app
