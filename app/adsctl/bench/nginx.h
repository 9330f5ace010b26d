// Nginx: this machine's HTTP ceiling, measured beside adsd in the same run. An nginx started by
// the benchmark answers POST /v1/ads and GET /v1/ads/{id} with fixed bodies of the same size as
// adsd's own answers, so every adsd figure is also a ratio to it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "app/adsctl/bench/child_process.h"

namespace adsd::bench {

class Nginx {
 public:
  // `accepted_body`: what adsd answers a POST; `ad_body`: what it answers a GET by id.
  static cqrs::Result<std::unique_ptr<Nginx>> Start(const std::string& nginx, const std::filesystem::path& dir,
                                                    const std::string& accepted_body, const std::string& ad_body,
                                                    int workers);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // SIGTERM: the master stops its workers, then exits. (SIGKILL to the master would leave the
  // workers running.)
  ~Nginx();

 private:
  Nginx(ChildProcess p, std::uint16_t port) : process_(std::move(p)), port_(port) {}
  ChildProcess process_;
  std::uint16_t port_;
};

}  // namespace adsd::bench
