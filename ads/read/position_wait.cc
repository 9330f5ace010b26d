#include "ads/read/position_wait.h"

#include <memory>

namespace adsd::ads {

void WaitForPosition(const ReadSide& read_side, cqrs::Position p, WaitClock::time_point deadline,
                     std::function<void(const cqrs::Status&)> shed, std::function<void()> answer) {
  std::shared_ptr<cqrs::projection::Runner> live = read_side.runner();
  if (!live) return answer();  // the service stops
  // The callback lives in the runner's registry: it must not own the runner (a cycle), only
  // recognize it.
  const cqrs::projection::Runner* waited_on = live.get();
  cqrs::Status st = live->NotifyAt(p, deadline, [&read_side, p, deadline, shed, answer, waited_on](bool reached) {
    // Not reached before the deadline: the runner was replaced (a rebuild) and dropped its waits;
    // wait on the new one for the time left.
    auto now_live = read_side.runner();  // null once the service stops
    if (!reached && WaitClock::now() < deadline && now_live && now_live.get() != waited_on) {
      return WaitForPosition(read_side, p, deadline, shed, answer);
    }
    answer();
  });
  if (!st.ok()) shed(st);
}

void WaitUntil(const ReadSide& read_side, std::function<bool()> visible, WaitClock::time_point deadline,
               std::function<void(const cqrs::Status&)> shed, std::function<void()> answer) {
  auto live = read_side.runner();
  if (!live) return answer();
  // The position is read before asking: whatever the read model applies after it wakes us.
  const cqrs::Position next(live->position().value() + 1);
  if (visible() || WaitClock::now() >= deadline) return answer();
  WaitForPosition(read_side, next, deadline, shed,
                  [&read_side, visible = std::move(visible), deadline, shed, answer]() mutable {
                    WaitUntil(read_side, std::move(visible), deadline, std::move(shed), std::move(answer));
                  });
}

}  // namespace adsd::ads
