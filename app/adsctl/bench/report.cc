#include "app/adsctl/bench/report.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "app/adsctl/bench/svg_chart.h"

namespace adsd::bench {

namespace {

namespace fs = std::filesystem;
using simdjson::dom::element;

constexpr std::array<const char*, 3> kPipelines = {"sync", "cqrs", "async"};
constexpr std::array<const char*, 5> kSteps = {"basic_validation", "store_incoming_record", "publish_to_event_stream",
                                               "detailed_validation_external_api", "store_validation_results"};

double Num(element e, std::string_view key) {
  double v = 0;
  if (e[key].get(v) == simdjson::SUCCESS) return v;
  std::int64_t i = 0;
  if (e[key].get(i) == simdjson::SUCCESS) return static_cast<double>(i);
  std::uint64_t u = 0;
  if (e[key].get(u) == simdjson::SUCCESS) return static_cast<double>(u);
  return 0;
}

std::string Str(element e, std::string_view key) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : "";
}

// 1234567 -> "1,234,567"
std::string Grouped(double v) {
  std::string digits = fmt::format("{:.0f}", v);
  std::string out;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string Ms(double v) {
  return v >= 100 ? fmt::format("{:.0f}", v) : v >= 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.2f}", v);
}

cqrs::Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return cqrs::NotFound("cannot read " + p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

cqrs::Status WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
  if (!out) return cqrs::ErrnoError("write " + p.string(), errno);
  return cqrs::Status::Ok();
}

// How a pipeline is named in the report: the paper's key, with the store-then-publish flow named
// as adsd names it (`--pipeline store-then-publish`, `cqrs` in the paper and its model).
std::string Label(std::string_view pipeline) {
  return pipeline == "cqrs" ? "store-then-publish (cqrs)" : std::string(pipeline);
}

// The request path of a pipeline: the steps the paper's Tables 1-3 list for it.
std::vector<std::string> RequestPath(const std::string& pipeline) {
  if (pipeline == "sync")
    return {"basic_validation", "store_incoming_record", "detailed_validation_external_api",
            "store_validation_results"};
  if (pipeline == "cqrs") return {"basic_validation", "store_incoming_record", "publish_to_event_stream"};
  return {"basic_validation", "publish_to_event_stream"};
}

std::string StepLabel(std::string_view step) {
  if (step == "basic_validation") return "basic validation";
  if (step == "store_incoming_record") return "store incoming record";
  if (step == "publish_to_event_stream") return "publish to event stream";
  if (step == "detailed_validation_external_api") return "detailed validation";
  return "store validation results";
}

std::string Verdict(bool met) { return met ? "met" : "**missed**"; }

}  // namespace

cqrs::Status WriteReport(const ReportOptions& o) {
  ASSIGN_OR_RETURN(std::string paper_text, ReadFile(o.paper_json));
  ASSIGN_OR_RETURN(std::string capacity_text, ReadFile(o.capacity_json));
  simdjson::dom::parser p1, p2;
  element paper, cap;
  if (p1.parse(paper_text).get(paper)) return cqrs::InvalidArgument(o.paper_json.string() + " is not JSON");
  if (p2.parse(capacity_text).get(cap)) return cqrs::InvalidArgument(o.capacity_json.string() + " is not JSON");
  const fs::path img = o.docs / "img";
  fs::create_directories(img);
  const double scale = Num(paper, "scale");
  const std::string footer_paper = fmt::format("{} | {} | {}", Str(paper, "machine"), Str(paper, "date"), o.command);
  const std::string footer_cap = fmt::format("{} | {} | {}", Str(cap, "machine"), Str(cap, "date"), o.command);
  element pipes = paper["pipelines"];
  element post = cap["post"];
  int top = 64;
  {
    simdjson::dom::array a;
    if (!cap["nginx"]["post"].get(a) && a.size() > 0) top = static_cast<int>(Num(a.at(a.size() - 1), "connections"));
  }
  auto post_at = [&](const std::string& pipeline, int conns) -> element {
    simdjson::dom::array a;
    if (post[pipeline].get(a)) return element();
    for (element r : a) {
      if (static_cast<int>(Num(r, "connections")) == conns) return r;
    }
    return element();
  };
  auto nginx_post_at = [&](int conns) -> element {
    simdjson::dom::array a;
    if (cap["nginx"]["post"].get(a)) return element();
    for (element r : a) {
      if (static_cast<int>(Num(r, "connections")) == conns) return r;
    }
    return element();
  };
  std::vector<int> conns;
  {
    simdjson::dom::array a;
    if (!cap["nginx"]["post"].get(a)) {
      for (element r : a) conns.push_back(static_cast<int>(Num(r, "connections")));
    }
  }

  // --- charts ---
  {
    std::vector<std::string> categories;
    std::vector<Series> series;
    for (const char* step : kSteps) series.push_back({StepLabel(step), {}, {}});
    for (const char* pipeline : kPipelines) {
      element pl;
      if (pipes[pipeline].get(pl)) continue;  // not run (--pipelines)
      if (pipes[pipeline].get(pl)) continue;  // not run (--pipelines)
      const auto path = RequestPath(pipeline);
      categories.push_back(Label(pipeline) + ": paper");
      categories.push_back(Label(pipeline) + ": ours");
      for (std::size_t s = 0; s < kSteps.size(); ++s) {
        const bool on_path = std::find(path.begin(), path.end(), kSteps[s]) != path.end();
        // The paper's figure for a step is its model latency; ours is the measured mean.
        series[s].values.push_back(on_path ? Num(paper["model_steps_ms"], kSteps[s]) : 0);
        series[s].values.push_back(on_path ? Num(pl["steps_ms"], kSteps[s]) : 0);
      }
    }
    RETURN_IF_ERROR(WriteFile(img / "paper-request-time.svg",
                              BarChart({"Request time by step: the paper's model and the real pipelines",
                                        "milliseconds per request (paper's scale)", "", footer_paper},
                                       categories, series, /*stacked=*/true)));
  }
  {
    std::vector<Series> lines;
    for (const char* pipeline : {"cqrs", "async"}) {
      simdjson::dom::array runs;
      if (pipes[pipeline]["runs"].get(runs)) continue;
      for (element run : runs) {
        Series s{fmt::format("{}, {} consumer{}", Label(pipeline), Num(run, "consumers"),
                             Num(run, "consumers") == 1 ? "" : "s"),
                 {},
                 {}};
        simdjson::dom::array points;
        if (run["backlog"].get(points)) continue;
        for (element pt : points) {
          s.x.push_back(pt.at(0).get_double().value_unsafe());
          s.values.push_back(static_cast<double>(pt.at(1).get_int64().value_unsafe()) + 1);
        }
        lines.push_back(std::move(s));
      }
    }
    RETURN_IF_ERROR(WriteFile(
        img / "paper-backlog.svg",
        LineChart({"Undecided ads while 25 clients submit (paper's latencies / " + fmt::format("{:g}", scale) + ")",
                   "ads accepted, not yet decided (+1, log scale)", "seconds", footer_paper},
                  lines, /*log_y=*/true)));
  }
  {
    std::vector<std::string> categories;
    for (int c : conns) categories.push_back(fmt::format("POST, {} conns", c));
    categories.push_back(fmt::format("GET by id, {} conns", top));
    std::vector<Series> series = {
        {"nginx (fixed answer)", {}, {}}, {"adsd async", {}, {}}, {"adsd cqrs", {}, {}}, {"adsd sync", {}, {}}};
    for (int c : conns) {
      series[0].values.push_back(Num(nginx_post_at(c), "rate"));
      series[1].values.push_back(Num(post_at("async", c), "rate"));
      series[2].values.push_back(Num(post_at("cqrs", c), "rate"));
      series[3].values.push_back(Num(post_at("sync", c), "rate"));
    }
    series[0].values.push_back(Num(cap["nginx"]["get"], "rate"));
    series[1].values.push_back(Num(cap["get"], "rate"));
    series[2].values.push_back(0);
    series[3].values.push_back(0);
    RETURN_IF_ERROR(
        WriteFile(img / "capacity-throughput.svg",
                  BarChart({"Requests per second against concurrency, beside nginx", "requests/s", "", footer_cap},
                           categories, series, /*stacked=*/false)));
  }
  {
    // x: "nines" of the percentile (p50 = 0.3, p99 = 2, p99.9 = 3).
    const std::vector<double> nines = {-std::log10(0.5), 2, 3};
    auto line = [&](const std::string& name, element r) {
      return Series{name, {Num(r, "p50_ms"), Num(r, "p99_ms"), Num(r, "p999_ms")}, nines};
    };
    std::vector<Series> lines = {line(fmt::format("nginx POST, {}", top), nginx_post_at(top)),
                                 line(fmt::format("async POST, {}", top), post_at("async", top)),
                                 line(fmt::format("cqrs POST, {}", top), post_at("cqrs", top)),
                                 line(fmt::format("sync POST, {}", top), post_at("sync", top)),
                                 line(fmt::format("nginx GET, {}", top), cap["nginx"]["get"]),
                                 line(fmt::format("adsd GET, {}", top), cap["get"]),
                                 line("90/10 mix", cap["mix"])};
    RETURN_IF_ERROR(WriteFile(img / "capacity-latency.svg", LineChart({"Latency distribution (wrk, closed loop)",
                                                                       "milliseconds (log scale)",
                                                                       "percentile",
                                                                       footer_cap,
                                                                       {{nines[0], "p50"}, {2, "p99"}, {3, "p99.9"}}},
                                                                      lines, /*log_y=*/true)));
  }
  {
    Series p50{"p50", {}, {}}, p99{"p99", {}, {}};
    simdjson::dom::array points;
    if (!cap["lag"]["series"].get(points)) {
      for (element pt : points) {
        const double t = pt.at(0).get_double().value_unsafe();
        p50.x.push_back(t);
        p99.x.push_back(t);
        p50.values.push_back(pt.at(1).get_double().value_unsafe());
        p99.values.push_back(pt.at(2).get_double().value_unsafe());
      }
    }
    RETURN_IF_ERROR(WriteFile(
        img / "capacity-lag.svg",
        LineChart({fmt::format("Write-to-read-model lag at {:.0f} submissions/s (paced)", Num(cap["lag"], "rate")),
                   "milliseconds, per half second", "seconds", footer_cap},
                  {p50, p99})));
  }

  // --- the page ---
  std::string md;
  md += "<!-- bench:begin (generated by `adsctl bench report`; edit the generator, not this) -->\n";
  md += fmt::format("## The paper's pipelines and the real system\n\n");
  md += fmt::format("Made by `{}` on {} ({}).\n\n", o.command, Str(paper, "date"), Str(paper, "machine"));
  md +=
      "| pipeline | paper: request ms | paper: requests/day | paper: × sync | reproduced: request ms | "
      "reproduced: requests/day | reproduced: × sync | real: POST/s | real: p99 ms | real: requests/day |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const char* pipeline : kPipelines) {
    element pl;
    if (pipes[pipeline].get(pl)) continue;  // not run (--pipelines)
    element real = post_at(pipeline, top);
    md += fmt::format("| {} | {} | {} | {:.2f} | {} | {} | **{:.2f}** | {} | {} | {} |\n", Label(pipeline),
                      Grouped(Num(pl, "paper_request_ms")), Grouped(Num(pl, "paper_requests_per_day")),
                      Num(pl, "paper_improvement_over_sync"), Grouped(Num(pl, "request_ms_mean")),
                      Grouped(Num(pl, "requests_per_day")), Num(pl, "improvement_over_sync"),
                      Grouped(Num(real, "rate")), Ms(Num(real, "p99_ms")), Grouped(Num(real, "rate") * 86400));
  }
  md += fmt::format(
      "\n*Paper*: its model (`bench/paper-model.json`): 5 servers × 5 concurrent requests. *Reproduced*: "
      "the real service with every step padded to the paper's latency / {:g} (`--paper-model`), {:g} closed-loop "
      "HTTP clients, request times × {:g}. *Real*: no injected latency, one process, `wrk` with {} connections, "
      "every 2xx sent only once its event is durable (requests/day = rate × 86,400).\n\n",
      scale, Num(paper, "clients"), scale, top);
  auto improvement = [&](const char* pipeline) {
    element pl;
    return pipes[pipeline].get(pl) ? 0.0 : Num(pl, "improvement_over_sync");
  };
  const double cqrs_x = improvement("cqrs"), async_x = improvement("async");
  md += fmt::format(
      "Improvements over sync: cqrs **{:.2f}×** (paper 2.24×, {:+.1f} %), async **{:.2f}×** (paper "
      "5.09×, {:+.1f} %); target ±5 %: {}.\n\n",
      cqrs_x, (cqrs_x / 2.24 - 1) * 100, async_x, (async_x / 5.09 - 1) * 100,
      Verdict(std::abs(cqrs_x / 2.24 - 1) <= 0.05 && std::abs(async_x / 5.09 - 1) <= 0.05));
  md += "![Request time by step](img/paper-request-time.svg)\n\n";

  md += "### What the paper leaves out: do the consumers keep up?\n\n";
  md +=
      "The paper counts request time only. With one consumer the undecided ads pile up; the benchmark "
      "measures one consumer's rate, runs again with enough concurrent consumers for the arrival rate "
      "(+20 %), and shows the backlog flat.\n\n";
  md +=
      "| pipeline | consumers | accepted/s | decided/s | backlog trend (ads/s) | submission → verdict p50 / p99 (paper "
      "ms) |\n";
  md += "|---|---:|---:|---:|---:|---|\n";
  for (const char* pipeline : kPipelines) {
    simdjson::dom::array runs;
    if (pipes[pipeline]["runs"].get(runs)) continue;
    for (element run : runs) {
      const bool decided_any = Num(run, "decision_ms_p50") > 0;
      md += fmt::format("| {} | {:g} | {:.0f} | {:.1f} | {:+.1f} | {} |\n", Label(pipeline), Num(run, "consumers"),
                        Num(run, "accepted_per_s"), Num(run, "decided_per_s"), Num(run, "backlog_slope_per_s"),
                        decided_any ? fmt::format("{} / {}", Grouped(Num(run, "decision_ms_p50")),
                                                  Grouped(Num(run, "decision_ms_p99")))
                                    : "none decided in the window");
    }
  }
  md += "\n(sync decides in the request: its consumer only takes over what a failed request left.)\n\n";
  md += "![Backlog over time](img/paper-backlog.svg)\n\n";

  md += "## Real capacity, beside nginx\n\n";
  md += fmt::format(
      "Made by `{}` on {} ({}). Load: {}. nginx, started by the benchmark with as many workers as "
      "adsd has HTTP threads ({:g}), answers the same routes with fixed bodies of adsd's sizes. "
      "Consumers: {:g} validation lanes.\n\n",
      o.command, Str(cap, "date"), Str(cap, "machine"), Str(cap, "load"), Num(cap, "http_threads"),
      Num(cap, "consumers"));
  md +=
      "| request | connections | rate | p50 ms | p99 ms | p99.9 ms | vs nginx |\n|---|---:|---:|---:|---:|---:|---:|\n";
  for (int c : conns) {
    element n = nginx_post_at(c);
    md += fmt::format("| nginx POST (fixed 202) | {} | {} | {} | {} | {} | 100 % |\n", c, Grouped(Num(n, "rate")),
                      Ms(Num(n, "p50_ms")), Ms(Num(n, "p99_ms")), Ms(Num(n, "p999_ms")));
  }
  for (const char* pipeline : {"async", "cqrs", "sync"}) {
    for (int c : conns) {
      element r = post_at(pipeline, c);
      md += fmt::format("| POST /v1/ads, {} | {} | {} | {} | {} | {} | {:.0f} % |\n", Label(pipeline), c,
                        Grouped(Num(r, "rate")), Ms(Num(r, "p50_ms")), Ms(Num(r, "p99_ms")), Ms(Num(r, "p999_ms")),
                        100 * Num(r, "rate") / Num(nginx_post_at(c), "rate"));
    }
  }
  element ng = cap["nginx"]["get"], g = cap["get"], mix = cap["mix"];
  md += fmt::format("| nginx GET (fixed 200) | {} | {} | {} | {} | {} | 100 % |\n", top, Grouped(Num(ng, "rate")),
                    Ms(Num(ng, "p50_ms")), Ms(Num(ng, "p99_ms")), Ms(Num(ng, "p999_ms")));
  md += fmt::format("| GET /v1/ads/{{id}} | {} | {} | {} | {} | {} | {:.0f} % |\n", top, Grouped(Num(g, "rate")),
                    Ms(Num(g, "p50_ms")), Ms(Num(g, "p99_ms")), Ms(Num(g, "p999_ms")),
                    100 * Num(g, "rate") / Num(ng, "rate"));
  md += fmt::format("| 90 % GET / 10 % POST (async) | {} | {} | {} | {} | {} | |\n\n", top, Grouped(Num(mix, "rate")),
                    Ms(Num(mix, "p50_ms")), Ms(Num(mix, "p99_ms")), Ms(Num(mix, "p999_ms")));
  element lag = cap["lag"], sus = cap["sustained"], rb = cap["rebuild"];
  md += fmt::format(
      "Write-to-read-model lag (`adsd_read_model_lag_seconds`: from the append to the read-model "
      "commit) with POSTs paced at {}/s, half the top async rate (Poisson arrivals, "
      "`bench/wrk/post_ad_paced.lua`; achieved {}/s): **p50 {} ms, p99 {} ms**; the POSTs themselves: "
      "p50 {} ms, p99 {} ms, p99.9 {} ms.\n\n",
      Grouped(Num(lag, "rate")), Grouped(Num(lag, "achieved_rate")), Ms(Num(lag, "p50_ms")), Ms(Num(lag, "p99_ms")),
      Ms(Num(lag, "post_p50_ms")), Ms(Num(lag, "post_p99_ms")), Ms(Num(lag, "post_p999_ms")));
  md += fmt::format(
      "Sustained end to end (accepted *and* decided, backlog flat): **{} ads/s** ({} accepted/s, {} "
      "decided/s, backlog {:+.0f} ads/s; {}), i.e. {} ads a day.\n\n",
      Grouped(Num(sus, "rate")), Grouped(Num(sus, "accepted_per_s")), Grouped(Num(sus, "decided_per_s")),
      Num(sus, "backlog_slope_per_s"), Str(sus, "how"), Grouped(Num(sus, "rate") * 86400));
  md += fmt::format(
      "Rebuild of the read model from the log (online, `POST /v1/admin/rebuild`): **{} events/s** ({} "
      "events in {:.2f} s).\n\n",
      Grouped(Num(rb, "events_per_s")), Grouped(Num(rb, "events")), Num(rb, "seconds"));
  const double post_ratio = Num(cap["ratios"], "async_post_vs_nginx"), get_ratio = Num(cap["ratios"], "get_vs_nginx");
  md += "| target (issue) | measured | |\n|---|---:|---|\n";
  md += fmt::format("| async POST ≥ 50 % of nginx | {:.0f} % | {} |\n", post_ratio * 100, Verdict(post_ratio >= 0.5));
  md += fmt::format("| GET by id ≥ 60 % of nginx | {:.0f} % | {} |\n", get_ratio * 100, Verdict(get_ratio >= 0.6));
  md += fmt::format("| lag p99 ≤ 20 ms at half the top write rate | {} ms | {} |\n", Ms(Num(lag, "p99_ms")),
                    Verdict(Num(lag, "p99_ms") <= 20));
  md += fmt::format("| sustained end to end ≥ 20,000 ads/s | {} | {} |\n", Grouped(Num(sus, "rate")),
                    Verdict(Num(sus, "rate") >= 20000));
  md += fmt::format("| rebuild ≥ 200,000 events/s | {} | {} |\n\n", Grouped(Num(rb, "events_per_s")),
                    Verdict(Num(rb, "events_per_s") >= 200000));
  md += "![Throughput against concurrency](img/capacity-throughput.svg)\n\n";
  md += "![Latency distribution](img/capacity-latency.svg)\n\n";
  md += "![Lag over time](img/capacity-lag.svg)\n\n";
  md += "<!-- bench:end -->\n";

  const fs::path page = o.docs / "benchmarks.md";
  ASSIGN_OR_RETURN(std::string text, ReadFile(page));
  const auto begin = text.find("<!-- bench:begin");
  const auto end_marker = text.find("<!-- bench:end -->");
  if (begin == std::string::npos || end_marker == std::string::npos) {
    return cqrs::InvalidArgument(page.string() + " has no <!-- bench:begin --> ... <!-- bench:end --> markers");
  }
  const auto end = text.find('\n', end_marker);
  text = text.substr(0, begin) + md + (end == std::string::npos ? "" : text.substr(end + 1));
  return WriteFile(page, text);
}

}  // namespace adsd::bench
