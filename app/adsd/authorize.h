// Authorize: the principal of a request, or the 401/403/429 answer already sent.
//
// For a key with a rate limit, `respond` is wrapped so that whatever the route answers carries
// the RateLimit-* headers of the request's admission (docs/api.md); unlimited keys get none.
#pragma once

#include <optional>

#include "ads/sender.h"
#include "http/auth.h"
#include "http/problem.h"
#include "http/router.h"

namespace adsd::app {

// The route files' vocabulary.
using http::Problem;
using http::Request;
using http::Responder;
using http::Response;

enum class Access { kAnyKey, kAdminOnly };

std::optional<http::Principal> Authorize(const http::ApiKeys& keys, const http::Request& req, http::Responder& respond,
                                         Access access = Access::kAnyKey);

// The principal as the commands and queries know it.
inline ads::Sender SenderOf(const http::Principal& p) { return {p.admin ? std::string() : p.retailer, p.admin}; }

}  // namespace adsd::app

namespace adsd::app {

// The same, for an API object that holds the keys.
template <typename Api>
std::optional<http::Principal> Authorize(const Api& api, const http::Request& req, http::Responder& respond,
                                         Access access = Access::kAnyKey) {
  return Authorize(api.keys(), req, respond, access);
}

}  // namespace adsd::app
