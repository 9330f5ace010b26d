// LatencyModel: the case study's assumed step latencies, injected into the real code path so
// that `adsctl bench paper` can reproduce its tables with the real pipelines.
//
// Each step of a request or of a consumer (see the paper's Tables 1-3) is padded to last at
// least its model latency divided by `scale`: the real work still happens and counts, and the
// model only says the least a step takes. Disabled (the default), Pad() costs nothing and a step
// is only timed for the metrics.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <string_view>

#include "cqrs/core/status.h"

namespace adsd::ads {

enum class Step {
  kBasicValidation,
  kStoreIncomingRecord,
  kPublishToEventStream,
  kDetailedValidation,
  kStoreValidationResults,
};
inline constexpr std::size_t kStepCount = 5;

// The name used in paper-model.json and in the metrics: "basic_validation", ...
std::string_view StepName(Step s);

class LatencyModel {
 public:
  using Clock = std::chrono::steady_clock;
  // Called with every step's real duration (after padding), for metrics. Thread-safe callee.
  using Observer = std::function<void(Step, double seconds)>;

  // No injected latency.
  LatencyModel() = default;
  // Reads `steps_ms` from a paper-model.json document; every step must be present.
  static cqrs::Result<LatencyModel> FromPaperModel(std::string_view json, double scale);

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  // The injected latency of a step (already divided by the scale); zero when disabled.
  std::chrono::microseconds injected(Step s) const { return injected_[static_cast<std::size_t>(s)]; }

  void set_observer(Observer o) { observer_ = std::move(o); }

  // Ends a step begun at `began`: sleeps until its model latency has passed, then reports it.
  void Pad(Step s, Clock::time_point began) const;

 private:
  bool enabled_ = false;
  double scale_ = 1;
  std::array<std::chrono::microseconds, kStepCount> injected_{};
  Observer observer_;
};

}  // namespace adsd::ads
