// Uuid: 16 raw bytes, used for event, correlation and causation ids and for ad ids.
//
// New ids are UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by
// creation time, which keeps B-tree inserts (SQLite, PostgreSQL) append-mostly.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace cqrs {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  static Uuid Nil() { return {}; }
  // A fresh UUIDv7. Thread-safe. Ids made by one process are strictly increasing.
  static Uuid V7();
  // Parses the canonical 8-4-4-4-12 hex form, either case. nullopt on anything else.
  static std::optional<Uuid> Parse(std::string_view text);

  bool is_nil() const;
  // Canonical lowercase form: "0190f1c2-7a3b-7c4d-8e5f-0123456789ab".
  std::string ToString() const;

  auto operator<=>(const Uuid&) const = default;
  // Two 64-bit compares instead of a memcmp call: id comparisons sit on the append path.
  bool operator==(const Uuid& o) const {
    std::uint64_t a[2], b[2];
    std::memcpy(a, bytes.data(), 16);
    std::memcpy(b, o.bytes.data(), 16);
    return a[0] == b[0] && a[1] == b[1];
  }
};

}  // namespace cqrs

template <>
struct std::hash<cqrs::Uuid> {
  size_t operator()(const cqrs::Uuid& u) const noexcept;
};
