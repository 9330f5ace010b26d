#include "app/adsctl/bench_command.h"

#include <fmt/core.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "app/adsctl/bench/capacity_bench.h"
#include "app/adsctl/bench/child_process.h"
#include "app/adsctl/bench/paper_bench.h"
#include "app/adsctl/bench/report.h"

namespace adsd::app {

namespace {

namespace fs = std::filesystem;

// A scratch directory for the runs' data, removed afterwards unless kept.
class WorkDir {
 public:
  explicit WorkDir(const std::string& given) {
    if (!given.empty()) {
      path_ = given;
      fs::create_directories(path_);
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "adsd-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    owned_ = true;
  }
  ~WorkDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool owned_ = false;
};

int Report(const cqrs::Status& st, const char* what) {
  if (st.ok()) return 0;
  fmt::print(stderr, "adsctl bench {}: {}\n", what, st.ToString());
  return 1;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int& exit_code) {
  auto* bench = app.add_subcommand("bench", "run the service's benchmarks (see docs/benchmarks.md)");
  bench->require_subcommand(1);

  struct Common {
    std::string adsd, work_dir;
  };
  auto common = std::make_shared<Common>();
  auto add_common = [common](CLI::App* cmd) {
    cmd->add_option("--adsd", common->adsd, "the adsd binary (default: beside adsctl, or the build tree's)");
    cmd->add_option("--work-dir", common->work_dir, "keep the runs' data directories here (default: a temporary one)");
  };

  auto paper = std::make_shared<bench::PaperOptions>();
  paper->model = "bench/paper-model.json";
  auto* p = bench->add_subcommand("paper", "reproduce the case study's tables with the real pipelines");
  add_common(p);
  p->add_option("--model", paper->model, "the paper's latency model")->capture_default_str();
  p->add_option("--scale", paper->scale, "divide the paper's latencies by this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  p->add_option("--clients", paper->clients, "closed-loop clients (the paper: 5 servers x 5)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  auto seconds = std::make_shared<double>(15);
  p->add_option("--seconds", *seconds, "measured seconds per run")->check(CLI::PositiveNumber)->capture_default_str();
  auto warmup = std::make_shared<double>(2);
  p->add_option("--warmup", *warmup, "unmeasured seconds before each run")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  p->add_option("--json", paper->json, "write the results here");
  p->add_option("--store", paper->store_url,
                "run on PostgreSQL: postgresql://HOST:PORT/DB of a role that may create databases (one per run)");
  p->add_option("--bus", paper->bus_url, "and Kafka: kafka://HOST:PORT (one topic per run); needs --store");
  p->add_option("--pipelines", paper->pipelines,
                "which pipelines, in order (improvements are over sync); store-then-publish is the paper's cqrs")
      ->delimiter(',')
      ->transform(CLI::Transformer({{"store-then-publish", "cqrs"}}))
      ->check(CLI::IsMember({"sync", "cqrs", "async"}));
  p->callback([&exit_code, common, paper, seconds, warmup] {
    if (!paper->bus_url.empty() && paper->store_url.empty()) {
      exit_code = Report(cqrs::InvalidArgument("--bus needs --store"), "paper");
      return;
    }
    paper->warmup = std::chrono::milliseconds(static_cast<std::int64_t>(*warmup * 1000));
    WorkDir dir(common->work_dir);
    paper->adsd = common->adsd.empty() ? bench::FindProgram("adsd", {"../adsd"}) : common->adsd;
    paper->work_dir = dir.path();
    paper->duration = std::chrono::milliseconds(static_cast<std::int64_t>(*seconds * 1000));
    exit_code = Report(bench::RunPaperBench(*paper), "paper");
  });

  auto capacity = std::make_shared<bench::CapacityOptions>();
  auto* c = bench->add_subcommand("capacity", "measure the real service beside nginx, no injected latency");
  add_common(c);
  c->add_option("--wrk", capacity->wrk, "the wrk binary")->capture_default_str();
  c->add_option("--nginx", capacity->nginx, "the nginx binary")->capture_default_str();
  c->add_option("--scripts", capacity->scripts, "the wrk scripts")->capture_default_str();
  c->add_option("--seconds", capacity->seconds, "seconds per wrk run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--connections", capacity->connections, "connection counts, the last one is the top")
      ->delimiter(',')
      ->check(CLI::Range(1, 10000));
  c->add_option("--threads", capacity->http_threads, "adsd HTTP threads and nginx workers (0: one per core)")
      ->capture_default_str();
  c->add_option("--consumers", capacity->consumers, "adsd --consumers")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  c->add_option("--json", capacity->json, "write the results here");
  c->callback([&exit_code, common, capacity] {
    WorkDir dir(common->work_dir);
    capacity->adsd = common->adsd.empty() ? bench::FindProgram("adsd", {"../adsd"}) : common->adsd;
    capacity->work_dir = dir.path();
    capacity->scripts = std::filesystem::absolute(capacity->scripts);
    exit_code = Report(bench::RunCapacityBench(*capacity), "capacity");
  });

  auto report = std::make_shared<bench::ReportOptions>();
  report->command = "scripts/bench.sh";
  auto* r = bench->add_subcommand("report", "write docs/benchmarks.md's generated part and docs/img/*.svg");
  r->add_option("--paper", report->paper_json, "results of bench paper")->required();
  r->add_option("--capacity", report->capacity_json, "results of bench capacity")->required();
  r->add_option("--docs", report->docs, "the docs folder")->capture_default_str();
  r->add_option("--command", report->command, "the command to name as the source of the figures")
      ->capture_default_str();
  r->callback([&exit_code, report] { exit_code = Report(bench::WriteReport(*report), "report"); });
}

}  // namespace adsd::app
