#include "app/adsd/authorize.h"

#include "http/problem.h"

namespace adsd::app {

std::optional<http::Principal> Authorize(const http::ApiKeys& keys, const http::Request& req,
                                         const http::Responder& respond, Access access) {
  auto p = keys.Authenticate(req);
  if (!p) {
    respond(http::Unauthorized());
    return std::nullopt;
  }
  if (access == Access::kAdminOnly && !p->admin) {
    respond(http::Problem(403, "forbidden", "Forbidden", "this route needs an admin token"));
    return std::nullopt;
  }
  // Before any work for the request: a flood is turned away at the cost of a hash and a lock.
  if (const auto d = keys.Admit(*p); !d.allowed) {
    respond(http::TooManyRequests(d));
    return std::nullopt;
  }
  return p;
}

}  // namespace adsd::app
