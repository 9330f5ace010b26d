// Test support for the distributed tests: clients that submit ads under load, and the final
// status of each ad as a read process sees it.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/adsd/adsd_process.h"
#include "app/adsd/json_field.h"
#include "app/adsd/test_ads.h"

namespace adsd::app::testing {

// Clients that submit ads until stopped, and remember which were acknowledged.
class Load {
 public:
  Load(std::uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port] {
        AdsdProcess::Reply r;
        while (!stop_.load()) {
          http::testing::Connection c(port);
          const std::string body = UniqueGoodAd();
          c.Send("POST /v1/ads HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kAcme) +
                 "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                 body);
          auto got = c.Receive(std::chrono::seconds(30));
          std::lock_guard lock(mu_);
          if (got && got->status == 202) {
            acknowledged_.push_back(Field(got->body, "ad_id"));
          } else {
            ++refused_;
          }
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::size_t acknowledged() const {
    std::lock_guard lock(mu_);
    return acknowledged_.size();
  }
  std::size_t refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> acknowledged_;
  std::size_t refused_ = 0;
  std::vector<std::thread> threads_;
};

// Each id's final status, read through `reader` (waits up to `within` for all of them).
inline std::map<std::string, std::string> FinalStatuses(const AdsdProcess& reader, const std::vector<std::string>& ids,
                                                        std::chrono::seconds within) {
  std::map<std::string, std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (const std::string& id : ids) {
    std::string status;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = reader.Call("GET", "/v1/ads/" + id, kAcme);
      status = r.status == 200 ? Field(r.body, "status") : "";
      if (!status.empty() && status != "pending") break;
      // Not there yet: let the read side wait a little (it wakes when its model moves).
      reader.Call("GET", "/v1/ads/" + id + "?min_position=1000000000&wait_ms=100", kAcme);
    }
    out[id] = status;
  }
  return out;
}

}  // namespace adsd::app::testing
