#include "ads/read/ad_queries.h"

#include <gtest/gtest.h>

namespace adsd::ads {
namespace {

AdRow RowWithTitle(std::string title, std::string url = "https://shop.example.com/") {
  AdRow r;
  r.ad_id = "0190a1b2-0000-7000-8000-000000000001";
  r.status = "approved";
  r.decided_us = 1'700'000'000'000'000;
  r.reasons_json = "[]";
  r.ad_json = "{\"title\":\"" + title + "\",\"landing_url\":\"" + url + "\"}";
  return r;
}

// The fourth field of the first data line.
std::string TitleCell(const std::string& csv) {
  const std::size_t line = csv.find("\r\n") + 2;
  std::size_t at = line;
  for (int i = 0; i < 3; ++i) at = csv.find(',', at) + 1;
  const bool quoted = csv[at] == '"';
  const std::size_t end = quoted ? csv.find("\",", at + 1) + 1 : csv.find(',', at);
  return csv.substr(at, end - at);
}

TEST(DailyReportCsv, CellsThatSpreadsheetsWouldRunAsFormulasAreNeutralized) {
  const std::pair<std::string, std::string> cases[] = {
      {"=HYPERLINK(\\\"https://evil.example\\\")", "\"'=HYPERLINK(\"\"https://evil.example\"\")\""},
      {"+1+2", "\"'+1+2\""},
      {"-2+3", "\"'-2+3\""},
      {"@SUM(A1)", "\"'@SUM(A1)\""},
      {"\\t=1", "\"'\t=1\""},
      {"\\r=1", "\"'\r=1\""},
  };
  for (const auto& [json_title, cell] : cases) {
    EXPECT_EQ(TitleCell(DailyReportCsv({RowWithTitle(json_title)})), cell) << json_title;
  }
}

TEST(DailyReportCsv, OrdinaryCellsAreUnchanged) {
  EXPECT_EQ(TitleCell(DailyReportCsv({RowWithTitle("Boots 20% off")})), "Boots 20% off");
  EXPECT_EQ(TitleCell(DailyReportCsv({RowWithTitle("a, b")})), "\"a, b\"");
  EXPECT_EQ(TitleCell(DailyReportCsv({RowWithTitle("1 = 1")})), "1 = 1");
}

TEST(DailyReportCsv, LandingUrlAndReasonsAreNeutralizedToo) {
  AdRow r = RowWithTitle("ok");
  r.ad_json = "{\"title\":\"ok\",\"landing_url\":\"=cmd\"}";
  r.reasons_json = R"([{"code":"-x","field":"f","message":"m"}])";
  const std::string csv = DailyReportCsv({r});
  EXPECT_NE(csv.find(",\"'=cmd\","), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"'-x (f): m\"\r\n"), std::string::npos) << csv;
}

}  // namespace
}  // namespace adsd::ads
