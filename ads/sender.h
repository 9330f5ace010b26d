// Sender: who sends a command or asks a query — a retailer, or an admin acting on any
// retailer's ads. The Write API's commands (ads/write/commands.h) and the Read API's queries
// (ads/read/reads.h) both take one; the rules of who may see or change what live behind them.
#pragma once

#include <string>

namespace adsd::ads {

struct Sender {
  std::string retailer;  // empty for an admin
  bool admin = false;

  // Whether the sender may see or act on an ad of `owner`.
  bool MayAccess(const std::string& owner) const { return admin || owner == retailer; }
};

}  // namespace adsd::ads
