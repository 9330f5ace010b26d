#include "app/adsctl/bench/load.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>
#include <thread>

#include "http/client.h"

namespace adsd::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t WallUs(Clock::time_point t) {
  const auto offset = std::chrono::system_clock::now().time_since_epoch() - Clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch() + offset).count();
}

struct Shared {
  std::mutex mu;
  LoadResult result;  // guarded by mu
  std::size_t keep_bodies = 0;
  void Add(std::vector<double>& latencies, std::map<int, std::uint64_t>& statuses, std::vector<std::string>& bodies) {
    std::lock_guard lock(mu);
    result.latency_ms.insert(result.latency_ms.end(), latencies.begin(), latencies.end());
    for (auto [s, n] : statuses) result.statuses[s] += n;
    for (auto& b : bodies) {
      if (result.bodies.size() < keep_bodies) result.bodies.push_back(std::move(b));
    }
  }
};

// One client's exchange; returns the status (0 when there was no answer).
int Exchange(http::HttpClient& client, const std::string& token, const Request& r, std::string* body) {
  auto res = client.Send(r.method, r.target, r.body, std::chrono::seconds(60), {{"Authorization", "Bearer " + token}});
  if (!res.ok()) return 0;
  if (body != nullptr) *body = std::move(res->body);
  return res->status;
}

// What every client thread sees: the window, and where it records its answers.
struct Window {
  Clock::time_point start, measure_from, stop;
};
struct Recorder {
  std::vector<double> latency_ms;
  std::map<int, std::uint64_t> statuses;
  std::vector<std::string> bodies;
  void Add(double ms, int status) {
    latency_ms.push_back(ms);
    ++statuses[status];
  }
};

// Runs `client(c, window, connection, recorder)` on `o.clients` threads and gathers the result.
template <typename ClientLoop>
LoadResult RunClients(const LoadOptions& o, const ClientLoop& client) {
  Shared shared;
  shared.keep_bodies = o.keep_bodies;
  Window w;
  w.start = Clock::now() + std::chrono::milliseconds(50);
  w.measure_from = w.start + o.warmup;
  w.stop = w.measure_from + o.duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      http::HttpClient connection(http::Url{"127.0.0.1", o.port, "/"});
      Recorder r;
      client(c, w, connection, r);
      shared.Add(r.latency_ms, r.statuses, r.bodies);
    });
  }
  for (auto& t : threads) t.join();
  shared.result.seconds = std::chrono::duration<double>(o.duration).count();
  shared.result.from_us = WallUs(w.measure_from);
  shared.result.to_us = WallUs(w.stop);
  return std::move(shared.result);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

LoadResult ClosedLoop(const LoadOptions& o, const RequestMaker& make) {
  return RunClients(o, [&](int c, const Window& w, http::HttpClient& connection, Recorder& r) {
    std::this_thread::sleep_until(w.start);
    for (std::uint64_t i = 0;; ++i) {
      const Clock::time_point sent = Clock::now();
      if (sent >= w.stop) break;
      std::string body;
      const int status = Exchange(connection, o.token, make(c, i), r.bodies.size() < o.keep_bodies ? &body : nullptr);
      const Clock::time_point answered = Clock::now();
      if (sent < w.measure_from || answered > w.stop) continue;
      r.Add(Ms(answered - sent), status);
      if (status / 100 == 2 && !body.empty()) r.bodies.push_back(std::move(body));
    }
  });
}

LoadResult OpenLoop(const LoadOptions& o, double rate, const RequestMaker& make) {
  // Arrival k is due at start + k / rate; connection c takes arrivals c, c + N, c + 2N, ...
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  return RunClients(o, [&](int c, const Window& w, http::HttpClient& connection, Recorder& r) {
    for (std::uint64_t k = static_cast<std::uint64_t>(c);; k += static_cast<std::uint64_t>(o.clients)) {
      const Clock::time_point due =
          w.start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(k));
      if (due >= w.stop) break;
      std::this_thread::sleep_until(due);  // the arrival schedule
      const int status = Exchange(connection, o.token, make(c, k), nullptr);
      const Clock::time_point answered = Clock::now();
      if (due >= w.measure_from) r.Add(Ms(answered - due), status);
    }
  });
}

double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0));
  return v[i];
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace adsd::bench
