#include "cqrs/core/uuid.h"

#include <chrono>
#include <cstring>
#include <random>

#include "cqrs/core/hex.h"
#include "cqrs/core/mutex.h"

namespace cqrs {
namespace {

// UUIDv7 with the "monotonic random" method of RFC 9562 §6.2: within one millisecond the
// 74 random bits are incremented, so ids from one process never go backwards.
class V7Generator {
 public:
  Uuid Next() {
    const auto now_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    MutexLock lock(mu_);
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      hi_ = rng_() & 0xFFF;                  // 12 bits rand_a
      lo_ = rng_() & 0x3FFFFFFFFFFFFFFFull;  // 62 bits rand_b
    } else if (++lo_ > 0x3FFFFFFFFFFFFFFFull) {
      lo_ = 0;
      if (++hi_ > 0xFFF) {  // 2^74 ids in one millisecond: borrow the next millisecond
        hi_ = 0;
        ++last_ms_;
      }
    }
    Uuid u;
    for (int i = 0; i < 6; ++i) u.bytes[i] = static_cast<std::uint8_t>(last_ms_ >> (40 - 8 * i));
    u.bytes[6] = static_cast<std::uint8_t>(0x70 | (hi_ >> 8));
    u.bytes[7] = static_cast<std::uint8_t>(hi_);
    const std::uint64_t b = lo_ | 0x8000000000000000ull;  // variant 10
    for (int i = 0; i < 8; ++i) u.bytes[8 + i] = static_cast<std::uint8_t>(b >> (56 - 8 * i));
    return u;
  }

 private:
  Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_){std::random_device{}()};
  std::uint64_t last_ms_ GUARDED_BY(mu_) = 0;
  std::uint64_t hi_ GUARDED_BY(mu_) = 0;
  std::uint64_t lo_ GUARDED_BY(mu_) = 0;
};

}  // namespace

Uuid Uuid::V7() {
  static V7Generator gen;
  return gen.Next();
}

std::optional<Uuid> Uuid::Parse(std::string_view t) {
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') {
    return std::nullopt;
  }
  Uuid u;
  int j = 0;
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] == '-') {
      ++i;
      continue;
    }
    const int h = HexDigitValue(t[i]), l = HexDigitValue(t[i + 1]);
    if (h < 0 || l < 0) return std::nullopt;
    u.bytes[j++] = static_cast<std::uint8_t>(h << 4 | l);
    i += 2;
  }
  return u;
}

bool Uuid::is_nil() const { return *this == Uuid{}; }

std::string Uuid::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[bytes[i] >> 4];
    s += kHex[bytes[i] & 15];
  }
  return s;
}

}  // namespace cqrs

size_t std::hash<cqrs::Uuid>::operator()(const cqrs::Uuid& u) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, u.bytes.data(), 8);
  std::memcpy(&b, u.bytes.data() + 8, 8);
  return static_cast<size_t>(a * 0x9E3779B97F4A7C15ull ^ b);
}
