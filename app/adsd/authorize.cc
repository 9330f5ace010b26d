#include "app/adsd/authorize.h"

#include "http/problem.h"
#include "http/rate_limit.h"

namespace adsd::app {

std::optional<http::Principal> Authorize(const http::ApiKeys& keys, const http::Request& req, http::Responder& respond,
                                         Access access) {
  auto p = keys.Authenticate(req);
  if (!p) {
    respond(http::Unauthorized(req));
    return std::nullopt;
  }
  if (access == Access::kAdminOnly && !p->admin) {
    respond(http::Problem(403, "forbidden", "Forbidden", "this route needs an admin token"));
    return std::nullopt;
  }
  // Before any work for the request: a flood is turned away at the cost of a hash and a lock.
  const auto d = keys.Admit(*p);
  if (!d.allowed) {
    respond(http::TooManyRequests(d));
    return std::nullopt;
  }
  if (d.limited) {
    respond = http::Responder([inner = respond, d](http::Response r) {
      http::AddRateLimitHeaders(r, d);
      inner(std::move(r));
    });
  }
  return p;
}

}  // namespace adsd::app
