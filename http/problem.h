// RFC 9457 problem details: every error answer of the API.
//
//   {"type": "https://adsd.dev/problems/validation", "title": "The ad is not valid",
//    "status": 400, "detail": "2 fields are invalid",
//    "errors": [{"field": "title", "code": "too_long", "message": "…"}]}
#pragma once

#include <string>
#include <vector>

#include "http/message.h"

namespace adsd::http {

struct FieldProblem {
  std::string field;
  std::string code;
  std::string message;
};

// `slug` makes the stable type URI: https://adsd.dev/problems/<slug>.
Response Problem(int status, std::string_view slug, std::string_view title, std::string_view detail,
                 const std::vector<FieldProblem>& errors = {});

// 503 "overloaded" with `Retry-After: <retry_after_seconds>`: a bounded queue or limit shed the
// request before any work was done; the client may retry it as it is.
Response Overloaded(std::string_view detail, int retry_after_seconds = 1);

}  // namespace adsd::http
