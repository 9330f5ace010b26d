#include "app/adsctl/bench/paper_bench.h"

#include <fmt/core.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "app/adsctl/bench/adsd_instance.h"
#include "app/adsctl/bench/decisions.h"
#include "app/adsctl/bench/json_file.h"
#include "app/adsctl/bench/load.h"
#include "app/adsctl/bench/machine.h"
#include "cqrs/pg/connection.h"

namespace adsd::bench {

namespace {

namespace rj = rapidjson;
constexpr std::array<const char*, 5> kSteps = {"basic_validation", "store_incoming_record", "publish_to_event_stream",
                                               "detailed_validation_external_api", "store_validation_results"};

// One run of adsd under the paper's load.
struct Run {
  int consumers = 1;
  LoadResult load;
  std::map<std::string, double> metrics;
  std::optional<Decisions> decisions;
  double accepted_per_s = 0;
  double decided_per_s = 0;
  double backlog_slope = 0;  // ads per second the undecided backlog grows (0: flat)
};

// A fresh database on the server of `url` (postgresql://…/DB): its URL.
cqrs::Result<std::string> FreshDatabase(const std::string& url, const std::string& name) {
  ASSIGN_OR_RETURN(auto conn, cqrs::pg::Connection::Open(url));
  RETURN_IF_ERROR(conn->Exec("DROP DATABASE IF EXISTS " + name));
  RETURN_IF_ERROR(conn->Exec("CREATE DATABASE " + name));
  const auto slash = url.rfind('/');
  if (slash == std::string::npos || url.find('?') != std::string::npos) {
    return cqrs::InvalidArgument("--store must be a URL of the form postgresql://HOST:PORT/DB, got " + url);
  }
  return url.substr(0, slash + 1) + name;
}

cqrs::Result<Run> RunOnce(const PaperOptions& o, const std::string& pipeline, int consumers, bool drain) {
  Run run;
  run.consumers = consumers;
  const std::string name = pipeline + "-" + std::to_string(consumers);
  const auto dir = o.work_dir / name;
  std::vector<std::string> args = {"--pipeline",         pipeline,
                                   "--paper-model",      o.model.string(),
                                   "--latency-scale",    fmt::format("{}", o.scale),
                                   "--consumers",        std::to_string(consumers),
                                   "--blocking-threads", std::to_string(std::max(64, 4 * o.clients))};
  const bool distributed = !o.store_url.empty();
  if (distributed) {
    ASSIGN_OR_RETURN(std::string db,
                     FreshDatabase(o.store_url, "adsd_paper_" + pipeline + "_" + std::to_string(consumers)));
    args.insert(args.end(), {"--store", db});
  }
  if (!o.bus_url.empty()) {
    const std::string topic = "adsd-paper-" + name + "-" + std::to_string(::getpid()) + "-" +
                              std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    args.insert(args.end(),
                {"--bus", o.bus_url + (o.bus_url.find('?') == std::string::npos ? "?" : "&") + "topic=" + topic});
  }
  ASSIGN_OR_RETURN(auto adsd, AdsdInstance::Start(o.adsd, dir, args));
  LoadOptions lo;
  lo.port = adsd->port();
  lo.token = kBenchToken;
  lo.clients = o.clients;
  lo.warmup = o.warmup;
  lo.duration = o.duration;
  run.load = ClosedLoop(lo, [](int client, std::uint64_t i) {
    return Request{"POST", "/v1/ads", SampleAd(static_cast<std::uint64_t>(client) * 1'000'000 + i)};
  });
  ASSIGN_OR_RETURN(run.metrics, adsd->Metrics());
  // The read model must hold every accepted ad; with `drain`, every verdict too.
  const auto within = drain ? std::chrono::minutes(5) : std::chrono::minutes(1);
  if (o.bus_url.empty()) {
    RETURN_IF_ERROR(adsd->WaitCaughtUp(drain, within));
  } else if (drain) {
    // On the bus an ad reaches the read model once a consumer stored it: with too few consumers
    // (the first run) the backlog is Kafka's, and only a drained run has every ad there.
    RETURN_IF_ERROR(adsd->WaitForAcknowledgedAds(/*decided=*/true, within));
  }
  adsd->Stop();
  ASSIGN_OR_RETURN(auto decisions, Decisions::Read(dir / "read.db"));
  run.decisions = std::move(decisions);
  run.decided_per_s =
      static_cast<double>(run.decisions->DecidedIn(run.load.from_us, run.load.to_us)) / run.load.seconds;
  // Accepted: as the read model dates them, or, on the bus before a drain, as the clients saw them.
  std::uint64_t answered_2xx = 0;
  for (auto [status, n] : run.load.statuses) answered_2xx += status / 100 == 2 ? n : 0;
  run.accepted_per_s =
      o.bus_url.empty() || drain
          ? static_cast<double>(run.decisions->AcceptedIn(run.load.from_us, run.load.to_us)) / run.load.seconds
          : static_cast<double>(answered_2xx) / run.load.seconds;
  run.backlog_slope = o.bus_url.empty() || drain ? run.decisions->BacklogSlope(run.load.from_us, run.load.to_us)
                                                 : run.accepted_per_s - run.decided_per_s;
  return run;
}

double StepMs(const std::map<std::string, double>& metrics, const std::string& step) {
  const std::string labels = "{step=\"" + step + "\"}";
  auto sum = metrics.find("adsd_step_duration_seconds_sum" + labels);
  auto count = metrics.find("adsd_step_duration_seconds_count" + labels);
  if (sum == metrics.end() || count == metrics.end() || count->second == 0) return 0;
  return sum->second / count->second * 1000.0;
}

template <typename W>
void WriteRun(W& w, const Run& r, double scale) {
  w.StartObject();
  w.Key("consumers");
  w.Int(r.consumers);
  const double accepted = r.accepted_per_s;
  w.Key("accepted_per_s");
  w.Double(accepted);
  w.Key("decided_per_s");
  w.Double(r.decided_per_s);
  w.Key("backlog_slope_per_s");
  w.Double(r.backlog_slope);
  auto decision = r.decisions->DecisionMs(r.load.from_us, r.load.to_us);
  w.Key("decided_of_accepted");
  w.Double(accepted > 0 ? static_cast<double>(decision.size()) / (accepted * r.load.seconds) : 0);
  w.Key("decision_ms_p50");
  w.Double(Quantile(decision, 0.5) * scale);
  w.Key("decision_ms_p99");
  w.Double(Quantile(decision, 0.99) * scale);
  w.Key("backlog");
  w.StartArray();
  for (const auto& p : r.decisions->Backlog(r.load.from_us, r.load.to_us, 0.5, 0)) {
    w.StartArray();
    w.Double(p.t_s);
    w.Int64(p.ads);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

cqrs::Status RunPaperBench(const PaperOptions& o) {
  std::ifstream in(o.model);
  if (!in) return cqrs::NotFound("cannot read " + o.model.string());
  std::stringstream text;
  text << in.rdbuf();
  rj::Document model;
  model.Parse(text.str().c_str());
  if (model.HasParseError() || !model.HasMember("pipelines") || !model.HasMember("paper_results_requests_per_day")) {
    return cqrs::InvalidArgument(o.model.string() + " is not a paper model");
  }

  rj::StringBuffer buf;
  rj::PrettyWriter<rj::StringBuffer> w(buf);
  w.StartObject();
  w.Key("benchmark");
  w.String("paper");
  w.Key("date");
  w.String(Today().c_str());
  w.Key("machine");
  w.String(MachineDescription().c_str());
  w.Key("scale");
  w.Double(o.scale);
  w.Key("clients");
  w.Int(o.clients);
  w.Key("duration_s");
  w.Double(std::chrono::duration<double>(o.duration).count());
  w.Key("model_steps_ms");
  w.StartObject();
  for (auto it = model["steps_ms"].MemberBegin(); it != model["steps_ms"].MemberEnd(); ++it) {
    w.Key(it->name.GetString());
    w.Double(it->value.GetDouble());
  }
  w.EndObject();
  w.Key("pipelines");
  w.StartObject();

  fmt::print("paper benchmark: latencies / {}, {} closed-loop clients, {} s per run\n", o.scale, o.clients,
             std::chrono::duration<double>(o.duration).count());
  fmt::print("{:<6} {:>10} {:>10} {:>10} {:>14} {:>14} {:>8} {:>8} {:>10}\n", "", "mean ms", "p50 ms", "p99 ms",
             "requests/day", "paper", "x sync", "paper", "consumers");
  double sync_per_day = 0;
  for (const std::string& pipeline : o.pipelines) {
    // Sync decides in the request: no consumer needed. The others: measure one consumer's rate,
    // then run with enough for the arrival rate (20 % headroom).
    std::optional<Run> single;
    int consumers = 1;
    if (pipeline != "sync") {
      ASSIGN_OR_RETURN(Run r, RunOnce(o, pipeline, 1, /*drain=*/false));
      const double arrival = r.load.rate();
      consumers = std::clamp(static_cast<int>(std::ceil(arrival / std::max(r.decided_per_s, 0.001) * 1.2)), 1, 4096);
      single = std::move(r);
    }
    ASSIGN_OR_RETURN(Run run, RunOnce(o, pipeline, consumers, /*drain=*/true));

    std::vector<double> ms = run.load.latency_ms;
    const double mean = Mean(ms) * o.scale;
    const double p50 = Quantile(ms, 0.5) * o.scale;
    const double p99 = Quantile(ms, 0.99) * o.scale;
    // Measured throughput, in the paper's time: every request is `scale` times slower there.
    const double per_day = run.load.rate() / o.scale * 86400.0;
    if (pipeline == "sync") sync_per_day = per_day;
    const auto& paper_pipeline = model["pipelines"][pipeline.c_str()];
    const double paper_ms = paper_pipeline["request_ms"].GetDouble();
    const double paper_per_day = model["paper_results_requests_per_day"][pipeline.c_str()].GetDouble();
    const double paper_improvement =
        pipeline == "sync" ? 1.0 : model["paper_improvement_over_sync"][pipeline.c_str()].GetDouble();
    std::uint64_t failed = 0;
    for (auto [status, n] : run.load.statuses) {
      if (status / 100 != 2) failed += n;
    }

    w.Key(pipeline.c_str());
    w.StartObject();
    w.Key("requests");
    w.Uint64(run.load.latency_ms.size());
    w.Key("failed_requests");
    w.Uint64(failed);
    w.Key("request_ms_mean");
    w.Double(mean);
    w.Key("request_ms_p50");
    w.Double(p50);
    w.Key("request_ms_p99");
    w.Double(p99);
    w.Key("requests_per_day");
    w.Double(per_day);
    w.Key("requests_per_day_formula");  // the paper's model applied to our mean request time
    w.Double(86400000.0 / mean * o.clients);
    w.Key("improvement_over_sync");
    w.Double(sync_per_day > 0 ? per_day / sync_per_day : 0);
    w.Key("paper_request_ms");
    w.Double(paper_ms);
    w.Key("paper_requests_per_day");
    w.Double(paper_per_day);
    w.Key("paper_improvement_over_sync");
    w.Double(paper_improvement);
    w.Key("steps_ms");  // measured mean of each step the request or its consumer went through, rescaled
    w.StartObject();
    for (const char* step : kSteps) {
      const double step_ms = StepMs(run.metrics, step);
      if (step_ms > 0) {
        w.Key(step);
        w.Double(step_ms * o.scale);
      }
    }
    w.EndObject();
    w.Key("consumers_needed");
    w.Int(pipeline == "sync" ? 0 : consumers);
    w.Key("runs");
    w.StartArray();
    if (single) WriteRun(w, *single, o.scale);
    WriteRun(w, run, o.scale);
    w.EndArray();
    w.EndObject();

    fmt::print("{:<6} {:>10.0f} {:>10.0f} {:>10.0f} {:>14.0f} {:>14.0f} {:>8.2f} {:>8.2f} {:>10}\n", pipeline, mean,
               p50, p99, per_day, paper_per_day, per_day / sync_per_day, paper_improvement,
               pipeline == "sync" ? "0" : std::to_string(consumers));
    if (single) {
      fmt::print(
          "       1 consumer: {:.0f} accepted/s, {:.1f} decided/s, backlog +{:.0f} ads/s;  {} consumers: "
          "backlog {:+.1f} ads/s\n",
          single->load.rate(), single->decided_per_s, single->backlog_slope, consumers, run.backlog_slope);
    }
    if (failed > 0) fmt::print("       {} requests failed\n", failed);
  }
  w.EndObject();
  w.EndObject();
  if (!o.json.empty()) return WriteJsonFile(o.json, buf);
  return cqrs::Status::Ok();
}

}  // namespace adsd::bench
