// Metrics: request counts and latency histograms by route and status, plus gauges read at scrape
// time, exposed in the Prometheus text format (0.0.4).
//
// Thread-safe. The request path takes one short mutex per request; fine at the rates of this
// service (see docs/benchmarks.md), and the simplest thing that is correct.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cqrs/core/mutex.h"

namespace adsd::http {

class Metrics {
 public:
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  // One pipeline step's duration (adsd_step_duration_seconds{step}): where request and consumer
  // time goes, step by step (see ads/latency_model.h).
  void ObserveStep(std::string_view step, double seconds);

  struct Sample {
    std::map<std::string, std::string> labels;
    double value;
  };
  // A histogram with its own bucket bounds; Observe() adds values to it (one lock per call).
  void AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  void Observe(std::string_view name, std::span<const double> values);

  // `read` is called at every scrape; it must be thread-safe and quick.
  void AddGauge(std::string name, std::string help, std::function<std::vector<Sample>()> read);
  // The same for a counter (a count since start that only grows: exposed with TYPE counter, so
  // rate() and increase() treat a restart as one). Its name ends in `_total`.
  void AddCounter(std::string name, std::string help, std::function<std::vector<Sample>()> read);

  std::string Exposition() const;

  // Bucket upper bounds, seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

 private:
  struct Series {
    std::uint64_t count = 0;
    double sum = 0;
    std::array<std::uint64_t, kBuckets.size()> buckets{};
  };
  struct Histogram {
    std::string help;
    std::vector<double> bounds;
    std::vector<std::uint64_t> buckets;  // cumulative, one per bound
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name, help;
    std::function<std::vector<Sample>()> read;
    std::string_view type;  // "gauge" or "counter"
  };
  mutable cqrs::Mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> requests_ GUARDED_BY(mu_);
  std::map<std::string, Series, std::less<>> steps_ GUARDED_BY(mu_);
  static void Add(Series& s, double seconds);
  static void Write(std::string& out, std::string_view name, const std::map<std::string, std::string>& labels,
                    const Series& s);
  std::map<std::string, Histogram, std::less<>> histograms_ GUARDED_BY(mu_);
  std::vector<Gauge> gauges_ GUARDED_BY(mu_);
};

}  // namespace adsd::http
