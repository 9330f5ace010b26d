#include "cqrs/core/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cqrs::crc32c {
namespace {

// RFC 3720 appendix B.4 test vectors.
struct Vector {
  std::vector<unsigned char> data;
  std::uint32_t crc;
};

std::vector<Vector> Rfc3720Vectors() {
  std::vector<Vector> v;
  v.push_back({std::vector<unsigned char>(32, 0x00), 0x8A9136AAu});
  v.push_back({std::vector<unsigned char>(32, 0xFF), 0x62A8AB43u});
  std::vector<unsigned char> inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<unsigned char>(i);
    dec[i] = static_cast<unsigned char>(31 - i);
  }
  v.push_back({inc, 0x46DD794Eu});
  v.push_back({dec, 0x113FDB5Cu});
  return v;
}

TEST(Crc32c, PortableMatchesRfc3720Vectors) {
  for (const auto& v : Rfc3720Vectors()) {
    EXPECT_EQ(ExtendPortable(0, v.data.data(), v.data.size()), v.crc);
  }
}

TEST(Crc32c, HardwareMatchesRfc3720Vectors) {
  if (!HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  for (const auto& v : Rfc3720Vectors()) {
    EXPECT_EQ(ExtendHardware(0, v.data.data(), v.data.size()), v.crc);
  }
}

TEST(Crc32c, CheckValueOfStandardString) { EXPECT_EQ(Value("123456789"), 0xE3069283u); }

TEST(Crc32c, ExtendingInPiecesEqualsOneCall) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s += static_cast<char>(i * 7);
  for (std::size_t cut : {0ul, 1ul, 7ul, 8ul, 9ul, 500ul, 999ul, 1000ul}) {
    std::uint32_t c = Extend(0, s.data(), cut);
    c = Extend(c, s.data() + cut, s.size() - cut);
    EXPECT_EQ(c, Value(s)) << "cut at " << cut;
    EXPECT_EQ(ExtendPortable(0, s.data(), s.size()), Value(s));
  }
}

}  // namespace
}  // namespace cqrs::crc32c
