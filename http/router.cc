#include "http/router.h"

#include <atomic>
#include <mutex>

#include "http/problem.h"
#include "http/target.h"

namespace adsd::http {

struct Responder::State {
  Send send;
  std::atomic<bool> done{false};
  ~State() {
    if (!done.exchange(true)) {
      send(Problem(500, "internal", "Internal error", "the request was not answered"));
    }
  }
};

Responder::Responder(Send send) : state_(std::make_shared<State>()) { state_->send = std::move(send); }

void Responder::operator()(Response response) const {
  if (!state_->done.exchange(true)) state_->send(std::move(response));
}

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), std::move(options)});
}

namespace {

// The path's segments exactly as sent: "/v1//ads" is three ("v1", "", "ads") and "/ui/" two
// ("ui", ""), so neither reaches the route of "/v1/ads" or "/ui" (docs/api.md: routed as sent).
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    const std::size_t end = path.find('/');
    out.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end + 1);
  }
  return out;
}

bool MatchPattern(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params) {
  const auto want = Split(pattern), got = Split(path);
  if (want.size() != got.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      if (got[i].empty()) return false;  // "/v1/ads//history" names no ad
      // Decoded only now that the route matched on raw segments: "%2F" never splits a path.
      auto value = PercentDecode(got[i], false);
      if (!value) return false;
      found[std::string(want[i].substr(1, want[i].size() - 2))] = std::move(*value);
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  bool has_get = false;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchPattern(r.pattern, path, params)) continue;
    // RFC 9110 §9.3.2: HEAD is GET without the content, so every GET route answers it too (the
    // server drops the body and keeps the headers).
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      m.route = &r;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    has_get = has_get || r.method == "GET";
    if (m.allow.find(r.method) == std::string::npos) m.allow += (m.allow.empty() ? "" : ", ") + r.method;
  }
  if (has_get) m.allow += ", HEAD";
  return m;
}

std::string Router::Methods() const {
  std::string out;
  bool has_get = false;
  for (const Route& r : routes_) {
    has_get = has_get || r.method == "GET";
    if (out.find(r.method) == std::string::npos) out += (out.empty() ? "" : ", ") + r.method;
  }
  if (has_get) out += ", HEAD";
  return out;
}

}  // namespace adsd::http
