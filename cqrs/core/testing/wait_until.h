// WaitUntil: polls a condition that other threads or processes bring about, until it holds or
// the deadline passes; tests ask rather than sleep for a fixed time.
#pragma once

#include <chrono>
#include <thread>

namespace cqrs::testing {

// Whether `done()` became true within `within` (asked every `every`, and once more at the end).
template <typename F>
bool WaitUntil(F done, std::chrono::milliseconds within,
               std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(every);  // between polls of a condition someone else brings about
  }
  return done();
}

}  // namespace cqrs::testing
