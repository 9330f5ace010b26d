#include "app/adsd/failpoint.h"

#include <cstdlib>

namespace adsd::app {

bool Failpoint(std::string_view point) {
  static const char* configured = std::getenv("ADSD_FAILPOINT");
  return configured != nullptr && point == configured;
}

}  // namespace adsd::app
