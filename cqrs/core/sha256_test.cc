#include "cqrs/core/sha256.h"

#include <gtest/gtest.h>

namespace cqrs {
namespace {

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(ToHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, ConcatHashesBothParts) {
  Sha256Digest a = Sha256("abc");
  const std::string tail = "xyz";
  std::string joined(reinterpret_cast<const char*>(a.data()), a.size());
  joined += tail;
  EXPECT_EQ(Sha256Concat(a, tail.data(), tail.size()), Sha256(joined));
}

}  // namespace
}  // namespace cqrs
