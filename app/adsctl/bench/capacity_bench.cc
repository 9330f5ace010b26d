#include "app/adsctl/bench/capacity_bench.h"

#include <fmt/core.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <simdjson.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <thread>

#include "app/adsctl/bench/adsd_instance.h"
#include "app/adsctl/bench/decisions.h"
#include "app/adsctl/bench/json_file.h"
#include "app/adsctl/bench/load.h"
#include "app/adsctl/bench/machine.h"
#include "app/adsctl/bench/nginx.h"
#include "app/adsctl/bench/wrk.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::bench {

namespace {

namespace rj = rapidjson;
using Writer = rj::PrettyWriter<rj::StringBuffer>;
constexpr const char* kLag = "adsd_read_model_lag_seconds";

// "key": number, for each field, in order.
void Doubles(Writer& w, std::initializer_list<std::pair<const char*, double>> fields) {
  for (const auto& [key, value] : fields) {
    w.Key(key);
    w.Double(value);
  }
}

void WriteWrk(Writer& w, const WrkResult& r) {
  w.StartObject();
  w.Key("connections");
  w.Int(r.connections);
  Doubles(w, {{"rate", r.rate()},
              {"p50_ms", r.p50_ms},
              {"p99_ms", r.p99_ms},
              {"p999_ms", r.p999_ms},
              {"max_ms", r.max_ms},
              {"errors", r.errors}});
  w.EndObject();
}

void Print(const std::string& what, const WrkResult& r, double ceiling = 0) {
  fmt::print("  {:<34} {:>9.0f}/s  p50 {:>7.2f}  p99 {:>7.2f}  p99.9 {:>7.2f} ms{}{}\n", what, r.rate(), r.p50_ms,
             r.p99_ms, r.p999_ms, ceiling > 0 ? fmt::format("  {:>4.0f} % of nginx", 100 * r.rate() / ceiling) : "",
             r.errors > 0 ? fmt::format("  ({:.0f} errors)", r.errors) : "");
  std::fflush(stdout);
}

// A cumulative histogram read from /metrics: (upper bound, count), ascending, +Inf last.
using Buckets = std::vector<std::pair<double, double>>;

Buckets ReadHistogram(const std::map<std::string, double>& metrics, const std::string& name) {
  Buckets out;
  const std::string prefix = name + "_bucket{le=\"";
  for (auto it = metrics.lower_bound(prefix); it != metrics.end() && it->first.starts_with(prefix); ++it) {
    const std::string le = it->first.substr(prefix.size(), it->first.size() - prefix.size() - 2);
    out.emplace_back(le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), it->second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Buckets Minus(const Buckets& after, const Buckets& before) {
  Buckets out = after;
  for (std::size_t i = 0; i < out.size() && i < before.size(); ++i) out[i].second -= before[i].second;
  return out;
}

// The q-quantile, interpolated linearly within its bucket (as Prometheus' histogram_quantile).
double HistogramQuantile(const Buckets& b, double q) {
  if (b.empty() || b.back().second <= 0) return 0;
  const double rank = q * b.back().second;
  double lower = 0, below = 0;
  for (const auto& [bound, count] : b) {
    if (count >= rank) {
      if (std::isinf(bound)) return lower;
      return lower + (bound - lower) * (count > below ? (rank - below) / (count - below) : 0);
    }
    lower = bound;
    below = count;
  }
  return lower;
}

// Ids of ads the read model holds, for GET runs.
cqrs::Result<std::filesystem::path> WriteIds(const std::filesystem::path& data_dir, const std::filesystem::path& out) {
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(data_dir / "read.db", {.read_only = true}));
  ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT ad_id FROM ads LIMIT 5000"));
  std::ofstream ids(out);
  int n = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ids << q.Text(0) << "\n";
    ++n;
  }
  if (n == 0) return cqrs::Internal("no ads in the read model to GET");
  return out;
}

std::map<std::string, std::string> Env(const std::filesystem::path& ids = {}) {
  std::map<std::string, std::string> env{{"ADSD_TOKEN", kBenchToken}};
  if (!ids.empty()) env["ADSD_IDS_FILE"] = ids.string();
  return env;
}

struct Sustained {
  double accepted = 0, decided = 0, slope = 0, rate = 0;
  std::string how;
};

// Accepted and decided rates of a window, from the read model.
cqrs::Result<Sustained> Measure(AdsdInstance& adsd, std::int64_t from_us, std::int64_t to_us) {
  RETURN_IF_ERROR(adsd.WaitCaughtUp(/*validator=*/false, std::chrono::minutes(2)));
  ASSIGN_OR_RETURN(Decisions d, Decisions::Read(adsd.data_dir() / "read.db"));
  Sustained s;
  const double seconds = static_cast<double>(to_us - from_us) / 1e6;
  s.accepted = static_cast<double>(d.AcceptedIn(from_us, to_us)) / seconds;
  s.decided = static_cast<double>(d.DecidedIn(from_us, to_us)) / seconds;
  s.slope = d.BacklogSlope(from_us, to_us);
  return s;
}

}  // namespace

cqrs::Status RunCapacityBench(const CapacityOptions& o) {
  const int threads = o.http_threads > 0 ? o.http_threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  WrkOptions wo{o.wrk, o.scripts, o.work_dir, std::max(1, threads)};
  const std::vector<std::string> common = {"--threads", std::to_string(threads), "--consumers",
                                           std::to_string(o.consumers)};
  auto adsd_args = [&](const std::string& pipeline) {
    std::vector<std::string> a = common;
    a.insert(a.end(), {"--pipeline", pipeline});
    return a;
  };
  rj::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("benchmark");
  w.String("capacity");
  w.Key("date");
  w.String(Today().c_str());
  w.Key("machine");
  w.String(MachineDescription().c_str());
  w.Key("seconds");
  w.Double(o.seconds);
  w.Key("http_threads");
  w.Int(threads);
  w.Key("consumers");
  w.Int(o.consumers);
  w.Key("load");
  w.String(
      "wrk from outside the process (closed loop; paced with Poisson arrivals for the lag), and the in-repo "
      "open-loop generator when the sustained rate needs a fixed arrival rate");
  fmt::print("capacity benchmark: {} s per run, {} HTTP threads, {} consumer lanes; {}\n", o.seconds, threads,
             o.consumers, MachineDescription());

  // The async instance first: its answers give nginx its bodies, and it serves the later runs.
  ASSIGN_OR_RETURN(auto async, AdsdInstance::Start(o.adsd, o.work_dir / "async", adsd_args("async")));
  ASSIGN_OR_RETURN(http::Response accepted, async->Call("POST", "/v1/ads", SampleAd(0)));
  if (accepted.status != 202)
    return cqrs::Internal("POST answered " + std::to_string(accepted.status) + ": " + accepted.body);
  RETURN_IF_ERROR(async->WaitCaughtUp(true, std::chrono::seconds(30)));
  simdjson::dom::parser parser;
  std::string_view ad_id;
  if (parser.parse(accepted.body)["ad_id"].get(ad_id)) return cqrs::Internal("no ad_id in " + accepted.body);
  ASSIGN_OR_RETURN(http::Response ad, async->Call("GET", "/v1/ads/" + std::string(ad_id)));

  // nginx: the ceiling.
  std::map<int, WrkResult> nginx_post;
  WrkResult nginx_get;
  {
    ASSIGN_OR_RETURN(auto nginx, Nginx::Start(o.nginx, o.work_dir / "nginx", accepted.body, ad.body, threads));
    fmt::print("nginx, fixed answers of {} and {} bytes:\n", accepted.body.size(), ad.body.size());
    for (int c : o.connections) {
      ASSIGN_OR_RETURN(nginx_post[c], RunWrk(wo, nginx->url(), "post_ad.lua", c, o.seconds, Env()));
      Print(fmt::format("POST /v1/ads, {} conns", c), nginx_post[c]);
    }
    ASSIGN_OR_RETURN(auto ids, WriteIds(async->data_dir(), o.work_dir / "ids.txt"));
    ASSIGN_OR_RETURN(nginx_get, RunWrk(wo, nginx->url(), "get_ad.lua", o.connections.back(), o.seconds, Env(ids)));
    Print(fmt::format("GET /v1/ads/{{id}}, {} conns", o.connections.back()), nginx_get);
  }
  w.Key("nginx");
  w.StartObject();
  w.Key("post");
  w.StartArray();
  for (const auto& [c, r] : nginx_post) WriteWrk(w, r);
  w.EndArray();
  w.Key("get");
  WriteWrk(w, nginx_get);
  w.EndObject();

  // POST through each pipeline.
  fmt::print("adsd, every 2xx sent only once its event is durable:\n");
  w.Key("post");
  w.StartObject();
  std::map<std::string, std::map<int, WrkResult>> post;
  for (const std::string pipeline : {"async", "cqrs", "sync"}) {
    std::unique_ptr<AdsdInstance> other;
    AdsdInstance* adsd = async.get();
    if (pipeline != "async") {
      ASSIGN_OR_RETURN(other, AdsdInstance::Start(o.adsd, o.work_dir / pipeline, adsd_args(pipeline)));
      adsd = other.get();
    }
    w.Key(pipeline.c_str());
    w.StartArray();
    for (int c : o.connections) {
      ASSIGN_OR_RETURN(WrkResult r, RunWrk(wo, adsd->url(), "post_ad.lua", c, o.seconds, Env()));
      Print(fmt::format("POST /v1/ads {}, {} conns", pipeline, c), r, nginx_post[c].rate());
      WriteWrk(w, r);
      post[pipeline][c] = r;
      // Let the consumers finish so that the next run starts from an idle service.
      RETURN_IF_ERROR(adsd->WaitCaughtUp(true, std::chrono::minutes(3)));
    }
    w.EndArray();
    if (other) other->Stop();
  }
  w.EndObject();

  // Reads, and a read-mostly mix, on the async instance (which now holds many ads).
  const int top = o.connections.back();
  ASSIGN_OR_RETURN(auto ids, WriteIds(async->data_dir(), o.work_dir / "ids.txt"));
  ASSIGN_OR_RETURN(WrkResult get, RunWrk(wo, async->url(), "get_ad.lua", top, o.seconds, Env(ids)));
  Print(fmt::format("GET /v1/ads/{{id}}, {} conns", top), get, nginx_get.rate());
  w.Key("get");
  WriteWrk(w, get);
  ASSIGN_OR_RETURN(WrkResult mix, RunWrk(wo, async->url(), "mix.lua", top, o.seconds, Env(ids)));
  Print(fmt::format("90 % GET / 10 % POST, {} conns", top), mix);
  RETURN_IF_ERROR(async->WaitCaughtUp(true, std::chrono::minutes(3)));
  w.Key("mix");
  WriteWrk(w, mix);

  // Write-to-read lag at half the top async write rate: wrk paced (bench/wrk/post_ad_paced.lua),
  // the lag histogram of /metrics sampled every half second.
  double top_rate = 0;
  for (const auto& [c, r] : post["async"]) top_rate = std::max(top_rate, r.rate());
  const double half = top_rate / 2;
  {
    ASSIGN_OR_RETURN(auto before, async->Metrics());
    const auto warmup = std::chrono::milliseconds(1000);
    std::vector<std::tuple<double, double, double>> series;  // (t, p50 ms, p99 ms)
    std::atomic<bool> running{true};
    Buckets baseline = ReadHistogram(before, kLag);  // replaced at the end of the warm-up
    std::thread sampler([&] {
      Buckets last = baseline;
      const auto start = std::chrono::steady_clock::now();
      bool warm = false;
      while (running.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the sampling period
        auto m = async->Metrics();
        if (!m.ok()) continue;
        Buckets now = ReadHistogram(*m, kLag);
        Buckets interval = Minus(now, last);
        last = now;
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        series.emplace_back(t, HistogramQuantile(interval, 0.5) * 1e3, HistogramQuantile(interval, 0.99) * 1e3);
        if (!warm && std::chrono::steady_clock::now() - start >= warmup) {
          warm = true;
          baseline = now;
        }
      }
    });
    auto env = Env();
    env["ADSD_RATE"] = fmt::format("{:.0f}", half);
    env["ADSD_CONNECTIONS"] = std::to_string(top);
    auto paced = RunWrk(wo, async->url(), "post_ad_paced.lua", top, o.seconds + 1, env);
    running.store(false);
    sampler.join();
    if (!paced.ok()) return paced.status();
    RETURN_IF_ERROR(async->WaitCaughtUp(false, std::chrono::minutes(1)));
    ASSIGN_OR_RETURN(auto after, async->Metrics());
    const Buckets lag = Minus(ReadHistogram(after, kLag), baseline);  // the measured window only
    const double p50 = HistogramQuantile(lag, 0.5) * 1e3, p99 = HistogramQuantile(lag, 0.99) * 1e3;
    fmt::print(
        "  write-to-read lag at {:.0f}/s (half the top rate; achieved {:.0f}/s): p50 {:.2f} ms, p99 {:.2f} ms; "
        "POST p50 {:.2f}, p99 {:.2f}, p99.9 {:.2f} ms\n",
        half, paced->rate(), p50, p99, paced->p50_ms, paced->p99_ms, paced->p999_ms);
    w.Key("lag");
    w.StartObject();
    Doubles(w, {{"rate", half},
                {"achieved_rate", paced->rate()},
                {"p50_ms", p50},
                {"p99_ms", p99},
                {"post_p50_ms", paced->p50_ms},
                {"post_p99_ms", paced->p99_ms},
                {"post_p999_ms", paced->p999_ms}});
    w.Key("series");
    w.StartArray();
    for (const auto& [t, a, b] : series) {
      w.StartArray();
      w.Double(t);
      w.Double(a);
      w.Double(b);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  RETURN_IF_ERROR(async->WaitCaughtUp(true, std::chrono::minutes(3)));

  // Sustained end to end: accepted and decided with the backlog flat. First at full speed; if
  // the consumers fall behind there, again open loop at the rate they kept.
  {
    ASSIGN_OR_RETURN(WrkResult full, RunWrk(wo, async->url(), "post_ad.lua", top, o.seconds * 1.5, Env()));
    const std::int64_t skip = 1'000'000;  // the first second: connections opening
    ASSIGN_OR_RETURN(Sustained s, Measure(*async, full.from_us + skip, full.to_us - 200'000));
    s.rate = s.accepted;
    s.how = "closed loop, full speed";
    if (s.slope > 0.02 * s.accepted) {
      RETURN_IF_ERROR(async->WaitCaughtUp(true, std::chrono::minutes(5)));
      LoadOptions lo{.port = async->port(),
                     .token = kBenchToken,
                     .clients = top,
                     .warmup = std::chrono::milliseconds(1000),
                     .duration = std::chrono::milliseconds(static_cast<std::int64_t>(o.seconds * 1500))};
      LoadResult paced = OpenLoop(lo, 0.95 * s.decided, [](int client, std::uint64_t i) {
        return Request{"POST", "/v1/ads",
                       SampleAd(8'000'000'000ULL + static_cast<std::uint64_t>(client) * 10'000'000 + i)};
      });
      ASSIGN_OR_RETURN(Sustained again, Measure(*async, paced.from_us, paced.to_us));
      again.rate = std::min(again.accepted, again.decided);
      again.how =
          fmt::format("open loop at 95 % of the consumers' full-speed rate ({:.0f}/s accepted, {:.0f}/s decided then)",
                      s.accepted, s.decided);
      s = again;
    }
    fmt::print("  sustained end to end: {:.0f} ads/s accepted, {:.0f}/s decided, backlog {:+.0f} ads/s ({})\n",
               s.accepted, s.decided, s.slope, s.how);
    w.Key("sustained");
    w.StartObject();
    Doubles(w, {{"accepted_per_s", s.accepted},
                {"decided_per_s", s.decided},
                {"backlog_slope_per_s", s.slope},
                {"rate", s.rate}});
    w.Key("how");
    w.String(s.how.c_str());
    w.EndObject();
  }
  RETURN_IF_ERROR(async->WaitCaughtUp(true, std::chrono::minutes(5)));

  // Rebuild the read model from the log, online.
  {
    ASSIGN_OR_RETURN(http::Response r, async->Call("POST", "/v1/admin/rebuild", "", /*admin=*/true));
    double events = 0, seconds = 0;
    simdjson::dom::element doc;
    if (r.status != 200 || parser.parse(r.body).get(doc) || doc["events"].get(events) || doc["seconds"].get(seconds)) {
      std::int64_t n = 0;
      if (r.status != 200 || doc["events"].get(n) || doc["seconds"].get(seconds)) {
        return cqrs::Internal("rebuild answered " + std::to_string(r.status) + ": " + r.body);
      }
      events = static_cast<double>(n);
    }
    fmt::print("  rebuild of the read model from the log: {:.0f} events in {:.2f} s = {:.0f} events/s\n", events,
               seconds, events / seconds);
    w.Key("rebuild");
    w.StartObject();
    Doubles(w, {{"events", events}, {"seconds", seconds}, {"events_per_s", events / seconds}});
    w.EndObject();
  }
  async->Stop();

  w.Key("ratios");
  w.StartObject();
  Doubles(w, {{"async_post_vs_nginx", post["async"][top].rate() / nginx_post[top].rate()},
              {"get_vs_nginx", get.rate() / nginx_get.rate()}});
  w.EndObject();
  w.EndObject();
  if (!o.json.empty()) return WriteJsonFile(o.json, buf);
  return cqrs::Status::Ok();
}

}  // namespace adsd::bench
