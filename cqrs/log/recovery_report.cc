// DescribeTruncation (log.h): what recovery cut, in words an operator can act on.
#include <string>

#include "cqrs/log/log.h"

namespace cqrs::log {

std::string DescribeTruncation(const RecoveryReport& r) {
  if (r.truncated_bytes == 0) return "";
  std::string out = "log recovery cut " + std::to_string(r.truncated_bytes) + " bytes from " + r.truncated_segment +
                    " at offset " + std::to_string(r.truncated_at) + ": position " +
                    std::to_string(r.first_truncated.value());
  if (r.last_truncated_seen > r.first_truncated) {
    out += " to " + std::to_string(r.last_truncated_seen.value());
  } else if (r.last_truncated_seen < r.first_truncated) {
    out += " on (no position readable in the cut bytes)";
  }
  out += " dropped; the log now ends at position " + std::to_string(r.first_truncated.value() - 1) +
         " (cut bytes are a batch a crash interrupted, never acknowledged, or a damaged last batch); anything "
         "that read a dropped position (a read model, a consumer offset) is now ahead of the log";
  return out;
}

}  // namespace cqrs::log
