// The benchmark tooling end to end, with tiny durations: `adsctl bench paper`, `bench capacity`
// (real adsd, wrk and nginx processes) and `bench report` into a scratch docs folder. The figures
// mean nothing at these durations; what is checked is that the one command behind
// docs/benchmarks.md works and writes what the page needs.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cqrs/core/testing/temp_dir.h"

namespace {

namespace fs = std::filesystem;

int Shell(const std::string& command) { return std::system((command + " > /dev/null 2>&1").c_str()); }

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BenchSmoke, PaperCapacityAndReportWriteThePage) {
  if (Shell("command -v wrk") != 0 || Shell("command -v nginx") != 0) {
    GTEST_SKIP() << "wrk or nginx missing: scripts/install-deps.sh --bench installs them";
  }
  cqrs::testing::TempDir dir;
  const fs::path paper = dir.path() / "paper.json", capacity = dir.path() / "capacity.json";
  const std::string adsctl = std::string(ADSCTL) + " bench ";
  const std::string common = " --adsd " + std::string(ADSD_BINARY) + " --work-dir " + (dir.path() / "work").string();
  ASSERT_EQ(
      Shell(adsctl + "paper --model " + std::string(SOURCE_DIR) + "/bench/paper-model.json --seconds 1 --warmup 0.5" +
            " --clients 5 --pipelines sync,async --json " + paper.string() + common),
      0);
  simdjson::dom::parser parser;
  simdjson::dom::element p;
  const std::string paper_text = Read(paper);
  ASSERT_FALSE(parser.parse(paper_text).get(p));
  for (const char* key : {"request_ms_mean", "requests_per_day", "improvement_over_sync", "paper_requests_per_day"}) {
    double v = 0;
    EXPECT_FALSE(p["pipelines"]["async"][key].get(v)) << key;
    EXPECT_GT(v, 0) << key;
  }
  double async_x = 0;
  ASSERT_FALSE(p["pipelines"]["async"]["improvement_over_sync"].get(async_x));
  EXPECT_GT(async_x, 2) << "async answers before the slow steps: it must beat sync clearly even in one second";

  ASSERT_EQ(Shell(adsctl + "capacity --seconds 1 --connections 4,8 --scripts " + std::string(SOURCE_DIR) +
                  "/bench/wrk" + " --json " + capacity.string() + common),
            0);
  simdjson::dom::element c;
  simdjson::dom::parser parser2;
  const std::string capacity_text = Read(capacity);
  ASSERT_FALSE(parser2.parse(capacity_text).get(c));
  double get_rate = 0;
  EXPECT_FALSE(c["get"]["rate"].get(get_rate));
  EXPECT_GT(get_rate, 0);

  // The report fills the markers of a page and writes the charts.
  const fs::path docs = dir.path() / "docs";
  fs::create_directories(docs);
  {
    std::ofstream(docs / "benchmarks.md") << "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n\n## Engine\n";
  }
  ASSERT_EQ(Shell(adsctl + "report --paper " + paper.string() + " --capacity " + capacity.string() + " --docs " +
                  docs.string()),
            0);
  const std::string page = Read(docs / "benchmarks.md");
  EXPECT_NE(page.find("| async |"), std::string::npos) << page;
  EXPECT_NE(page.find("## Engine"), std::string::npos) << "the hand-written part stays";
  for (const char* svg : {"paper-request-time.svg", "paper-backlog.svg", "capacity-throughput.svg",
                          "capacity-latency.svg", "capacity-lag.svg"}) {
    EXPECT_NE(Read(docs / "img" / svg).find("<svg"), std::string::npos) << svg;
  }
}

}  // namespace
