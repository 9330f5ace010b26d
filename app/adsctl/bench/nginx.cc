#include "app/adsctl/bench/nginx.h"

#include <fmt/core.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "http/client.h"
#include "http/free_port.h"

namespace adsd::bench {

namespace {
// nginx's `return` takes a quoted string; escape what would end it or start a variable.
std::string NginxString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    if (c == '$') {
      out += "${dollar}";
      continue;
    }
    out += c;
  }
  return out + "'";
}
}  // namespace

Nginx::~Nginx() { process_.Stop(SIGTERM, std::chrono::seconds(30)); }

cqrs::Result<std::unique_ptr<Nginx>> Nginx::Start(const std::string& nginx, const std::filesystem::path& dir,
                                                  const std::string& accepted_body, const std::string& ad_body,
                                                  int workers) {
  std::filesystem::create_directories(dir / "logs");
  const std::uint16_t port = http::FreePort();
  const auto conf = dir / "nginx.conf";
  {
    std::ofstream out(conf);
    out << fmt::format(R"(worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  geo $dollar {{ default "$"; }}
  server {{
    listen 127.0.0.1:{port} reuseport;
    default_type application/json;
    location = /v1/ads {{ return 202 {accepted}; }}
    location /v1/ads/ {{ return 200 {ad}; }}
  }}
}}
)",
                       fmt::arg("workers", workers), fmt::arg("dir", dir.string()), fmt::arg("port", port),
                       fmt::arg("accepted", NginxString(accepted_body)), fmt::arg("ad", NginxString(ad_body)));
  }
  ASSIGN_OR_RETURN(ChildProcess p,
                   ChildProcess::Start({nginx, "-p", dir.string(), "-c", conf.string()}, dir / "nginx.out"));
  // Ready when it answers.
  http::HttpClient client(http::Url{"127.0.0.1", port, "/"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto r = client.Send("GET", "/v1/ads/x", "", std::chrono::seconds(2));
    if (r.ok() && r->status == 200) break;
    if (std::chrono::steady_clock::now() > deadline) {
      const std::string out = p.Output();
      p.Stop(SIGTERM, std::chrono::seconds(30));  // its workers go with it
      return cqrs::Unavailable("nginx did not start: " + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling until it listens
  }
  return std::unique_ptr<Nginx>(new Nginx(std::move(p), port));
}

}  // namespace adsd::bench
