// WriteApi: POST, PATCH and DELETE on /v1/ads. It maps HTTP to the Write API's commands
// (ads/write/commands.h) and their outcomes to answers, and nothing more.
#pragma once

#include "ads/write/commands.h"
#include "http/auth.h"
#include "http/router.h"

namespace adsd::app {

class WriteApi {
 public:
  // All must outlive the routes.
  WriteApi(http::Router& router, const http::ApiKeys& keys, ads::AdCommands& commands)
      : router_(router), keys_(keys), commands_(commands) {}
  void AddRoutes();
  const http::ApiKeys& keys() const { return keys_; }

 private:
  http::Router& router_;
  const http::ApiKeys& keys_;
  ads::AdCommands& commands_;
};

// If-Match (RFC 9110 §13.1.1): `*`, or a list of entity tags; a tag matches a version when it is
// "<version>" (a weak tag never matches). nullopt when the field is not valid syntax.
std::optional<ads::VersionMatch> ParseIfMatch(std::string_view value);

}  // namespace adsd::app
