#include "ads/latency_model.h"

#include <simdjson.h>
#include <sys/prctl.h>

#include <string>
#include <thread>

namespace adsd::ads {

namespace {
constexpr std::array<std::string_view, kStepCount> kNames = {
    "basic_validation", "store_incoming_record", "publish_to_event_stream", "detailed_validation_external_api",
    "store_validation_results"};
}  // namespace

std::string_view StepName(Step s) { return kNames[static_cast<std::size_t>(s)]; }

cqrs::Result<LatencyModel> LatencyModel::FromPaperModel(std::string_view json, double scale) {
  if (!(scale > 0)) return cqrs::InvalidArgument("latency scale must be > 0");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc)) {
    return cqrs::InvalidArgument(std::string("paper model is not JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object steps;
  if (doc["steps_ms"].get(steps)) return cqrs::InvalidArgument("paper model: no \"steps_ms\" object");
  LatencyModel m;
  m.enabled_ = true;
  m.scale_ = scale;
  for (std::size_t i = 0; i < kStepCount; ++i) {
    double ms = 0;
    if (steps[kNames[i]].get(ms) || ms < 0) {
      return cqrs::InvalidArgument("paper model: steps_ms." + std::string(kNames[i]) + " must be a number >= 0");
    }
    m.injected_[i] = std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0 / scale + 0.5));
  }
  return m;
}

void LatencyModel::Pad(Step s, Clock::time_point began) const {
  if (enabled_) {
    // The default timer slack (50 us) would add up over a request's steps and be multiplied by
    // the scale when rescaled to the paper's milliseconds: ask for precise wake-ups.
    thread_local const bool precise = prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0;
    (void)precise;
    std::this_thread::sleep_until(began + injected(s));
  }
  if (observer_) observer_(s, std::chrono::duration<double>(Clock::now() - began).count());
}

}  // namespace adsd::ads
