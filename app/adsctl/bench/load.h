// Load generators over real HTTP (http::HttpClient, one keep-alive connection per client).
//
// ClosedLoop: N clients, each sending its next request when the last one is answered (the
// paper's "concurrent requests"). OpenLoop: requests at a fixed arrival rate, each latency
// measured from when the request was due, not when it was sent, so a stall counts against every
// request it delayed (no coordinated omission).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace adsd::bench {

struct Request {
  std::string method = "POST";
  std::string target = "/v1/ads";
  std::string body;
};
// Makes the i-th request of client `client`.
using RequestMaker = std::function<Request(int client, std::uint64_t i)>;

struct LoadResult {
  std::vector<double> latency_ms;         // every answered request in the measured window
  std::map<int, std::uint64_t> statuses;  // HTTP status -> count (0: no answer)
  double seconds = 0;                     // the measured window
  std::int64_t from_us = 0, to_us = 0;    // the window on the wall clock (as event timestamps)
  std::vector<std::string> bodies;        // the first few answers with a 2xx status, for ids
  double rate() const { return seconds > 0 ? static_cast<double>(latency_ms.size()) / seconds : 0; }
};

struct LoadOptions {
  std::uint16_t port = 0;
  std::string token;
  int clients = 25;
  std::chrono::milliseconds warmup{2000};
  std::chrono::milliseconds duration{10000};
  std::size_t keep_bodies = 0;
};

LoadResult ClosedLoop(const LoadOptions& options, const RequestMaker& make);
// `rate` requests per second spread over `options.clients` connections.
LoadResult OpenLoop(const LoadOptions& options, double rate, const RequestMaker& make);

// The q-quantile (0..1) of `v` (sorted in place).
double Quantile(std::vector<double>& v, double q);
double Mean(const std::vector<double>& v);

}  // namespace adsd::bench
