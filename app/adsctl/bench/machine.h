// The machine a benchmark ran on, and when: printed beside every figure.
#pragma once

#include <string>

namespace adsd::bench {

// "2 x Intel(R) Xeon(R) ... , Linux 6.1.0, 7.8 GiB"
std::string MachineDescription();
// "2026-11-26" (UTC)
std::string Today();

}  // namespace adsd::bench
