// Test-only fault injection: true when the environment variable ADSD_FAILPOINT names `point`.
// The end-to-end tests use it to stop the process at an exact step (e.g. between the outbox
// commit and the publish). Never set in production.
#pragma once

#include <string_view>

namespace adsd::app {

bool Failpoint(std::string_view point);

}  // namespace adsd::app
