// StrongInt<Tag>: an integer that does not mix with other integers.
//
// Positions, stream versions and segment ids are all 64-bit counters; giving each its own type
// makes `read(stream, position)` a compile error instead of a silent bug.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace cqrs {

template <typename Tag, typename Rep = std::uint64_t>
class StrongInt {
 public:
  using rep = Rep;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : v_(v) {}
  constexpr Rep value() const { return v_; }

  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt next() const { return StrongInt(v_ + 1); }
  constexpr StrongInt operator+(Rep d) const { return StrongInt(v_ + d); }
  constexpr Rep operator-(StrongInt o) const { return v_ - o.v_; }
  StrongInt& operator++() {
    ++v_;
    return *this;
  }

  friend std::ostream& operator<<(std::ostream& os, StrongInt s) { return os << s.v_; }

 private:
  Rep v_ = 0;
};

}  // namespace cqrs

template <typename Tag, typename Rep>
struct std::hash<cqrs::StrongInt<Tag, Rep>> {
  size_t operator()(cqrs::StrongInt<Tag, Rep> s) const noexcept { return std::hash<Rep>{}(s.value()); }
};
