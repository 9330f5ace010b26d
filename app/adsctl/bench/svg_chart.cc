#include "app/adsctl/bench/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace adsd::bench {

namespace {

constexpr double kWidth = 760, kHeight = 420;
constexpr double kLeft = 80, kRight = 190, kTop = 48, kBottom = 78;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

std::string Number(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.3g}k", v / 1e3);
  if (a >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

// A "nice" axis maximum and step for [0, max].
std::pair<double, double> NiceAxis(double max) {
  if (max <= 0) return {1, 0.25};
  const double raw = max / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  return {std::ceil(max / step) * step, step};
}

std::string Frame(const ChartText& t) {
  std::string s = fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="{w}" height="{h}" fill="white"/>
<text x="{cx}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{title}</text>
<text x="18" y="{cy}" text-anchor="middle" transform="rotate(-90 18 {cy})">{ylabel}</text>
<text x="{px}" y="{xy}" text-anchor="middle">{xlabel}</text>
<text x="{w2}" y="{fy}" text-anchor="middle" font-size="10" fill="#555">{footer}</text>
)svg",
      fmt::arg("w", kWidth), fmt::arg("h", kHeight), fmt::arg("cx", kWidth / 2), fmt::arg("cy", kTop + kPlotH / 2),
      fmt::arg("title", Escape(t.title)), fmt::arg("ylabel", Escape(t.y_label)), fmt::arg("px", kLeft + kPlotW / 2),
      fmt::arg("xy", kTop + kPlotH + 44), fmt::arg("xlabel", Escape(t.x_label)), fmt::arg("w2", kWidth / 2),
      fmt::arg("fy", kHeight - 10), fmt::arg("footer", Escape(t.footer)));
  return s;
}

std::string Legend(const std::vector<Series>& series) {
  std::string s;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double y = kTop + 8 + static_cast<double>(i) * 20;
    s += fmt::format(R"svg(<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>
)svg",
                     kLeft + kPlotW + 16, y, kColors[i % 10], kLeft + kPlotW + 34, y + 10, Escape(series[i].name));
  }
  return s;
}

// Horizontal grid lines and labels for a linear axis [0, max].
std::string LinearYAxis(double max, double step) {
  std::string s;
  for (double v = 0; v <= max + step / 2; v += step) {
    const double y = kTop + kPlotH - v / max * kPlotH;
    s += fmt::format(
        R"svg(<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>
)svg",
        kLeft, kLeft + kPlotW, kLeft - 6, y + 4, Number(v), fmt::arg("y", y));
  }
  return s;
}

}  // namespace

std::string BarChart(const ChartText& text, const std::vector<std::string>& categories,
                     const std::vector<Series>& series, bool stacked) {
  double max = 0;
  for (std::size_t c = 0; c < categories.size(); ++c) {
    double sum = 0;
    for (const auto& s : series) {
      const double v = c < s.values.size() ? s.values[c] : 0;
      sum += v;
      max = std::max(max, v);
    }
    if (stacked) max = std::max(max, sum);
  }
  const auto [axis_max, step] = NiceAxis(max);
  std::string out = Frame(text) + LinearYAxis(axis_max, step);
  const double slot = kPlotW / static_cast<double>(std::max<std::size_t>(1, categories.size()));
  const double group = slot * 0.7;
  const double bar = stacked ? group : group / static_cast<double>(std::max<std::size_t>(1, series.size()));
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const double x0 = kLeft + slot * static_cast<double>(c) + (slot - group) / 2;
    double base = 0;
    for (std::size_t i = 0; i < series.size(); ++i) {
      const double v = c < series[i].values.size() ? series[i].values[c] : 0;
      if (v <= 0) continue;
      const double h = v / axis_max * kPlotH;
      const double x = stacked ? x0 : x0 + bar * static_cast<double>(i);
      const double y = kTop + kPlotH - (stacked ? base / axis_max * kPlotH : 0) - h;
      out += fmt::format(
          R"svg(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>{}: {}</title></rect>
)svg",
          x, y, bar - 1, h, kColors[i % 10], Escape(series[i].name), Number(v));
      if (!stacked) {
        out += fmt::format(R"svg(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="9">{}</text>
)svg",
                           x + bar / 2, y - 3, Number(v));
      }
      base += v;
    }
    if (stacked && base > 0) {
      out += fmt::format(R"svg(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="10">{}</text>
)svg",
                         x0 + group / 2, kTop + kPlotH - base / axis_max * kPlotH - 4, Number(base));
    }
    out += fmt::format(R"svg(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>
)svg",
                       x0 + group / 2, kTop + kPlotH + 18, Escape(categories[c]));
  }
  out += fmt::format(R"svg(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#333"/>
)svg",
                     kLeft, kTop + kPlotH, kLeft + kPlotW, kTop + kPlotH);
  return out + Legend(series) + "</svg>\n";
}

std::string LineChart(const ChartText& text, const std::vector<Series>& series, bool log_y) {
  double xmin = INFINITY, xmax = -INFINITY, ymax = 0, ymin_pos = INFINITY;
  for (const auto& s : series) {
    for (std::size_t i = 0; i < s.values.size() && i < s.x.size(); ++i) {
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymax = std::max(ymax, s.values[i]);
      if (s.values[i] > 0) ymin_pos = std::min(ymin_pos, s.values[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  if (xmax <= xmin) xmax = xmin + 1;
  std::string out = Frame(text);
  std::function<double(double)> ypos;
  if (log_y) {
    const double lo = std::pow(10, std::floor(std::log10(std::isfinite(ymin_pos) ? ymin_pos : 1)));
    const double hi = std::pow(10, std::ceil(std::log10(std::max(ymax, lo * 10))));
    ypos = [=](double v) {
      const double c = std::max(v, lo);
      return kTop + kPlotH - (std::log10(c) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * kPlotH;
    };
    for (double v = lo; v <= hi * 1.001; v *= 10) {
      const double y = ypos(v);
      out += fmt::format(
          R"svg(<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>
)svg",
          kLeft, kLeft + kPlotW, kLeft - 6, y + 4, Number(v), fmt::arg("y", y));
    }
  } else {
    const auto [axis_max, step] = NiceAxis(ymax);
    ypos = [axis_max = axis_max](double v) { return kTop + kPlotH - v / axis_max * kPlotH; };
    out += LinearYAxis(axis_max, step);
  }
  auto xpos = [&](double v) { return kLeft + (v - xmin) / (xmax - xmin) * kPlotW; };
  std::vector<std::pair<double, std::string>> ticks = text.x_ticks;
  if (ticks.empty()) {
    const double xstep = NiceAxis(xmax - xmin).second;
    for (double v = std::ceil(xmin / xstep - 1e-9) * xstep; v <= xmax + 1e-9; v += xstep)
      ticks.emplace_back(v, Number(v));
  }
  for (const auto& [v, label] : ticks) {
    out += fmt::format(R"svg(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>
)svg",
                       xpos(v), kTop + kPlotH + 18, Escape(label));
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    std::string points;
    for (std::size_t k = 0; k < series[i].values.size() && k < series[i].x.size(); ++k) {
      points += fmt::format("{:.1f},{:.1f} ", xpos(series[i].x[k]), ypos(series[i].values[k]));
    }
    out += fmt::format(R"svg(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>
)svg",
                       kColors[i % 10], points);
  }
  out += fmt::format(R"svg(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#333"/>
)svg",
                     kLeft, kTop + kPlotH, kLeft + kPlotW, kTop + kPlotH);
  return out + Legend(series) + "</svg>\n";
}

}  // namespace adsd::bench
