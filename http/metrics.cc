#include "http/metrics.h"

#include <fmt/format.h>

namespace adsd::http {

namespace {

std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Labels(const std::map<std::string, std::string>& labels, std::string_view extra = {}) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=\"" + Escape(v) + "\"";
  if (!extra.empty()) out += (out.empty() ? "" : ",") + std::string(extra);
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

void Metrics::Add(Series& s, double seconds) {
  ++s.count;
  s.sum += seconds;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++s.buckets[i];
  }
}

void Metrics::Write(std::string& out, std::string_view name, const std::map<std::string, std::string>& labels,
                    const Series& s) {
  const std::string n(name);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    out += n + "_bucket" + Labels(labels, fmt::format("le=\"{}\"", kBuckets[i])) + " " + std::to_string(s.buckets[i]) +
           "\n";
  }
  out += n + "_bucket" + Labels(labels, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
  out += n + "_sum" + Labels(labels) + " " + fmt::format("{}", s.sum) + "\n";
  out += n + "_count" + Labels(labels) + " " + std::to_string(s.count) + "\n";
}

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status, double seconds) {
  cqrs::MutexLock lock(mu_);
  Add(requests_[{route, method, status}], seconds);
}

void Metrics::ObserveStep(std::string_view step, double seconds) {
  cqrs::MutexLock lock(mu_);
  auto it = steps_.find(step);
  if (it == steps_.end()) it = steps_.emplace(std::string(step), Series{}).first;
  Add(it->second, seconds);
}

void Metrics::AddHistogram(std::string name, std::string help, std::vector<double> bounds) {
  cqrs::MutexLock lock(mu_);
  Histogram& h = histograms_[std::move(name)];
  h.help = std::move(help);
  h.buckets.assign(bounds.size(), 0);
  h.bounds = std::move(bounds);
}

void Metrics::Observe(std::string_view name, std::span<const double> values) {
  cqrs::MutexLock lock(mu_);
  auto it = histograms_.find(name);
  if (it == histograms_.end()) return;
  Histogram& h = it->second;
  for (double v : values) {
    ++h.count;
    h.sum += v;
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
      if (v <= h.bounds[i]) ++h.buckets[i];
    }
  }
}

void Metrics::AddGauge(std::string name, std::string help, std::function<std::vector<Sample>()> read) {
  cqrs::MutexLock lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "gauge"});
}

void Metrics::AddCounter(std::string name, std::string help, std::function<std::vector<Sample>()> read) {
  cqrs::MutexLock lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read), "counter"});
}

std::string Metrics::Exposition() const {
  cqrs::MutexLock lock(mu_);
  std::string out;
  out += "# HELP adsd_http_requests_total HTTP requests answered, by route pattern, method and status.\n";
  out += "# TYPE adsd_http_requests_total counter\n";
  for (const auto& [key, s] : requests_) {
    const auto& [route, method, status] = key;
    out += "adsd_http_requests_total" +
           Labels({{"route", route}, {"method", method}, {"status", std::to_string(status)}}) + " " +
           std::to_string(s.count) + "\n";
  }
  out += "# HELP adsd_http_request_duration_seconds Time from a request's arrival to its answer.\n";
  out += "# TYPE adsd_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : requests_) {
    const auto& [route, method, status] = key;
    Write(out, "adsd_http_request_duration_seconds",
          {{"route", route}, {"method", method}, {"status", std::to_string(status)}}, s);
  }
  if (!steps_.empty()) {
    out += "# HELP adsd_step_duration_seconds Time spent in each step of the write pipeline and its consumers.\n";
    out += "# TYPE adsd_step_duration_seconds histogram\n";
    for (const auto& [step, s] : steps_) Write(out, "adsd_step_duration_seconds", {{"step", step}}, s);
  }
  for (const auto& [name, h] : histograms_) {
    out += "# HELP " + name + " " + h.help + "\n# TYPE " + name + " histogram\n";
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
      out += name + "_bucket" + fmt::format("{{le=\"{}\"}} {}\n", h.bounds[i], h.buckets[i]);
    }
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += name + "_sum " + fmt::format("{}", h.sum) + "\n" + name + "_count " + std::to_string(h.count) + "\n";
  }
  for (const Gauge& g : gauges_) {
    out += "# HELP " + g.name + " " + g.help + "\n# TYPE " + g.name + " " + std::string(g.type) + "\n";
    for (const Sample& s : g.read()) out += g.name + Labels(s.labels) + " " + fmt::format("{}", s.value) + "\n";
  }
  return out;
}

}  // namespace adsd::http
