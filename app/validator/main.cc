// ads-validator: a stand-in for the paper's external "detailed validation API", for tests and
// benchmarks. A real HTTP service with a configurable latency, failure rate and verdict rule:
//
//   POST /v1/validate  {"retailer": "…", "ad": {…}}
//   200 {"verdict": "approve" | "reject", "reasons": [{"code", "field", "message"}]}
//   503 at the configured failure rate (to exercise the caller's retries and circuit breaker)
#include <fmt/core.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <sstream>

#include "app/validator/delay_queue.h"
#include "http/problem.h"
#include "http/server.h"

namespace {

using adsd::http::Request;
using adsd::http::Responder;
using adsd::http::Response;

struct Config {
  int latency_ms = 0;
  int jitter_ms = 0;
  double fail_rate = 0;
  std::vector<std::string> reject_words;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The verdict: reject when the title or description contains a configured word.
Response Judge(const Config& config, const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  std::string_view title, description;
  if (parser.parse(padded).get(doc) || doc["ad"]["title"].get(title)) {
    return adsd::http::Problem(400, "bad-request", "Expected {\"retailer\", \"ad\"}", "the body is not an ad");
  }
  if (doc["ad"]["description"].get(description)) description = {};
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  std::vector<std::string> hits;
  const std::string text = Lower(std::string(title) + " " + std::string(description));
  for (const auto& word : config.reject_words) {
    if (text.find(word) != std::string::npos) hits.push_back(word);
  }
  w.StartObject();
  w.Key("verdict");
  w.String(hits.empty() ? "approve" : "reject");
  w.Key("reasons");
  w.StartArray();
  for (const auto& word : hits) {
    w.StartObject();
    w.Key("code");
    w.String("external_policy");
    w.Key("field");
    w.String("title");
    w.Key("message");
    const std::string m = "the external validation service refuses \"" + word + "\"";
    w.String(m.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Response::Json(200, std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ads-validator: a configurable external ad-validation service"};
  Config config;
  std::string listen = "127.0.0.1:0", reject_words, port_file;
  app.add_option("--listen", listen, "HOST:PORT (port 0: a free one)")->capture_default_str();
  app.add_option("--latency-ms", config.latency_ms, "time to answer")->check(CLI::Range(0, 600'000));
  app.add_option("--jitter-ms", config.jitter_ms, "± random extra time")->check(CLI::Range(0, 600'000));
  app.add_option("--fail-rate", config.fail_rate, "share of requests answered 503")->check(CLI::Range(0.0, 1.0));
  app.add_option("--reject-words", reject_words, "comma-separated words that make it reject an ad");
  app.add_option("--port-file", port_file, "write the bound port to this file");
  CLI11_PARSE(app, argc, argv);
  std::stringstream words(reject_words);
  for (std::string w; std::getline(words, w, ',');) {
    if (!w.empty()) config.reject_words.push_back(Lower(w));
  }
  adsd::http::ServerOptions options;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    fmt::print(stderr, "ads-validator: --listen must be HOST:PORT\n");
    return 2;
  }
  options.host = listen.substr(0, colon);
  options.port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));

  adsd::app::DelayQueue delays;
  std::mutex rng_mu;
  std::mt19937 rng(std::random_device{}());
  adsd::http::Router router;
  router.Add("POST", "/v1/validate", [&](Request& req, Responder respond) {
    int delay = config.latency_ms;
    bool fail = false;
    {
      std::lock_guard lock(rng_mu);
      if (config.jitter_ms > 0) delay += std::uniform_int_distribution<int>(-config.jitter_ms, config.jitter_ms)(rng);
      fail = std::uniform_real_distribution<double>(0, 1)(rng) < config.fail_rate;
    }
    Response answer =
        fail ? adsd::http::Problem(503, "unavailable", "Try again", "simulated failure") : Judge(config, req.body);
    delays.At(adsd::app::DelayQueue::Clock::now() + std::chrono::milliseconds(std::max(0, delay)),
              [respond, answer = std::move(answer)]() mutable { respond(std::move(answer)); });
  });
  router.Add("GET", "/healthz",
             [](Request&, Responder respond) { respond(Response::Json(200, R"({"status":"ok"})")); });

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = adsd::http::Server::Start(options, router, nullptr);
  if (!server.ok()) {
    fmt::print(stderr, "ads-validator: {}\n", server.status().ToString());
    return 1;
  }
  fmt::print("ads-validator listening on http://{}:{}\n", options.host, (*server)->port());
  std::fflush(stdout);
  if (!port_file.empty()) {
    if (std::FILE* f = std::fopen(port_file.c_str(), "w")) {
      std::fprintf(f, "%u\n", (*server)->port());
      std::fclose(f);
    }
  }
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Stop();
  return 0;
}
