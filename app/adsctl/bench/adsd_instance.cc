#include "app/adsctl/bench/adsd_instance.h"

#include <signal.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cqrs/sql/sqlite.h"
#include "http/auth.h"

namespace adsd::bench {

namespace fs = std::filesystem;

AdsdInstance::AdsdInstance(ChildProcess p, fs::path dir, std::uint16_t port)
    : process_(std::move(p)), data_dir_(std::move(dir)), port_(port) {
  client_ = std::make_unique<http::HttpClient>(http::Url{"127.0.0.1", port_, "/"});
}

cqrs::Result<std::unique_ptr<AdsdInstance>> AdsdInstance::Start(const std::string& adsd, const fs::path& data_dir,
                                                                const std::vector<std::string>& args) {
  std::error_code ec;
  fs::remove_all(data_dir, ec);
  fs::create_directories(data_dir, ec);
  if (ec) return cqrs::ErrnoError("create " + data_dir.string(), ec.value());
  const fs::path keys = data_dir / "bench-keys.toml";
  {
    std::ofstream out(keys);
    // Unlimited: the benchmark measures the service, not its rate limit.
    out << "[[key]]\nhash = \"" << http::ApiKeys::HashText(kBenchToken)
        << "\"\nretailer = \"bench\"\nunlimited = true\n"
        << "[[key]]\nhash = \"" << http::ApiKeys::HashText(kBenchAdminToken) << "\"\nrole = \"admin\"\n";
  }
  std::vector<std::string> argv = {adsd,          "--data-dir", data_dir.string(), "--listen",
                                   "127.0.0.1:0", "--api-keys", keys.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSIGN_OR_RETURN(ChildProcess p,
                   ChildProcess::Start(argv, data_dir.parent_path() / (data_dir.filename().string() + ".out")));
  ASSIGN_OR_RETURN(std::string rest, p.WaitForOutput("adsd listening on http://127.0.0.1:", std::chrono::seconds(60)));
  const int port = std::atoi(rest.c_str());
  if (port <= 0) return cqrs::Internal("adsd did not say its port: " + rest);
  return std::unique_ptr<AdsdInstance>(new AdsdInstance(std::move(p), data_dir, static_cast<std::uint16_t>(port)));
}

cqrs::Result<http::Response> AdsdInstance::Call(std::string_view method, const std::string& target,
                                                const std::string& body, bool admin) {
  return client_->Send(method, target, body, std::chrono::seconds(120),
                       {{"Authorization", std::string("Bearer ") + (admin ? kBenchAdminToken : kBenchToken)}});
}

cqrs::Result<Positions> AdsdInstance::Ready() {
  ASSIGN_OR_RETURN(http::Response r, client_->Send("GET", "/readyz", "", std::chrono::seconds(10)));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(r.body).get(doc)) return cqrs::Internal("readyz is not JSON: " + r.body);
  Positions p;
  if (doc["log_head"].get(p.log_head) || doc["projection_position"].get(p.projection) ||
      doc["validator_position"].get(p.validator)) {
    return cqrs::Internal("readyz lacks positions: " + r.body);
  }
  return p;
}

cqrs::Status AdsdInstance::WaitCaughtUp(bool validator, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  ASSIGN_OR_RETURN(Positions target, Ready());
  while (true) {
    ASSIGN_OR_RETURN(Positions now, Ready());
    if (now.projection >= target.log_head && (!validator || now.validator >= target.log_head))
      return cqrs::Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return cqrs::DeadlineExceeded("consumers did not catch up with position " + std::to_string(target.log_head));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling /readyz
  }
}

cqrs::Status AdsdInstance::WaitForAcknowledgedAds(bool decided, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  ASSIGN_OR_RETURN(auto metrics, Metrics());
  double acknowledged = 0;
  for (const auto& [series, value] : metrics) {
    if (series.starts_with("adsd_http_requests_total{") && series.find("route=\"/v1/ads\"") != std::string::npos &&
        series.find("method=\"POST\"") != std::string::npos && series.find("status=\"2") != std::string::npos) {
      acknowledged += value;
    }
  }
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(data_dir_ / "read.db", {.read_only = true}));
  while (true) {
    ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT count(*), count(decided_us) FROM ads"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    const double held = row ? static_cast<double>(q.Int(0)) : 0, judged = row ? static_cast<double>(q.Int(1)) : 0;
    if (held >= acknowledged && (!decided || judged >= acknowledged)) return cqrs::Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return cqrs::DeadlineExceeded("the read model holds " + std::to_string(held) + " of " +
                                    std::to_string(acknowledged) + " acknowledged ads");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the read model
  }
}

cqrs::Result<std::map<std::string, double>> AdsdInstance::Metrics() {
  ASSIGN_OR_RETURN(http::Response r, client_->Send("GET", "/metrics", "", std::chrono::seconds(10)));
  std::map<std::string, double> out;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

void AdsdInstance::Stop() { process_.Stop(SIGTERM, std::chrono::seconds(60)); }

std::string SampleAd(std::uint64_t i) {
  return R"({"title":"Trail running shoes )" + std::to_string(i) +
         R"(","description":"Light, grippy and waterproof: made for muddy trails.",)"
         R"("landing_url":"https://shop.example.com/shoes/trail","category":"apparel",)"
         R"("bid_cents":120,"currency":"EUR","countries":["FR","DE"]})";
}

}  // namespace adsd::bench
