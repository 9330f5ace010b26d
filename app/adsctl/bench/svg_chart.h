// SvgChart: the few chart kinds docs/benchmarks.md needs (stacked or grouped bars, lines), as
// self-contained SVG files with the machine, date and command in a footer.
#pragma once

#include <string>
#include <vector>

namespace adsd::bench {

struct Series {
  std::string name;
  std::vector<double> values;  // bars: one per category; lines: y per x
  std::vector<double> x;       // lines only
};

struct ChartText {
  std::string title, y_label, x_label, footer;
  // Line charts: labels at these x values instead of evenly spaced numbers.
  std::vector<std::pair<double, std::string>> x_ticks = {};
};

// Bars per category; `stacked`: the series stack within one bar per category (the paper's
// request-time tables). Otherwise the series stand side by side.
std::string BarChart(const ChartText& text, const std::vector<std::string>& categories,
                     const std::vector<Series>& series, bool stacked);
// Lines over a shared x axis; `log_y` for values over several decades.
std::string LineChart(const ChartText& text, const std::vector<Series>& series, bool log_y = false);

}  // namespace adsd::bench
