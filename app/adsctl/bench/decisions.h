// Decisions: what the read model says about the consumers after a run: when each ad was
// accepted and when its verdict was recorded (event timestamps), hence the backlog over time and
// the time from submission to final verdict.
#pragma once

#include <filesystem>
#include <vector>

#include "cqrs/core/status.h"

namespace adsd::bench {

struct BacklogPoint {
  double t_s;        // seconds since the window began (negative: warm-up)
  std::int64_t ads;  // accepted, not yet decided
};

class Decisions {
 public:
  // Reads DATA_DIR/read.db (the service must be stopped, or its read model caught up).
  static cqrs::Result<Decisions> Read(const std::filesystem::path& read_db);

  std::size_t accepted() const { return created_.size(); }
  // Ads accepted / decided within [from_us, to_us).
  std::int64_t AcceptedIn(std::int64_t from_us, std::int64_t to_us) const;
  std::int64_t DecidedIn(std::int64_t from_us, std::int64_t to_us) const;
  // The backlog every `step_s` from `from_us - lead_s` to `to_us`.
  std::vector<BacklogPoint> Backlog(std::int64_t from_us, std::int64_t to_us, double step_s, double lead_s) const;
  // Least-squares slope of the backlog over the window, ads per second (0: flat).
  double BacklogSlope(std::int64_t from_us, std::int64_t to_us) const;
  // Submission-to-verdict times (ms) of the ads accepted within the window and decided.
  std::vector<double> DecisionMs(std::int64_t from_us, std::int64_t to_us) const;

 private:
  std::vector<std::int64_t> created_;                         // sorted
  std::vector<std::int64_t> decided_;                         // sorted
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs_;  // (created, decided or -1)
};

}  // namespace adsd::bench
