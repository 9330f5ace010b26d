#include "cqrs/core/sha256.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace cqrs {
namespace {

// One EVP context per thread, reused: creating one per record would dominate the cost.
EVP_MD_CTX* ThreadContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return ctx.get();
}

Sha256Digest Digest(const void* a, std::size_t a_len, const void* b, std::size_t b_len) {
  EVP_MD_CTX* ctx = ThreadContext();
  Sha256Digest out{};
  unsigned int len = 0;
  // These calls fail only on allocation failure or a broken libcrypto; there is no sane
  // way to continue a hash chain after that.
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 || EVP_DigestUpdate(ctx, a, a_len) != 1 ||
      EVP_DigestUpdate(ctx, b, b_len) != 1 || EVP_DigestFinal_ex(ctx, out.data(), &len) != 1) {
    throw std::runtime_error("libcrypto SHA-256 failed");
  }
  return out;
}

}  // namespace

Sha256Digest Sha256Concat(const Sha256Digest& a, const void* b, std::size_t b_len) {
  return Digest(a.data(), a.size(), b, b_len);
}

Sha256Digest Sha256(std::string_view data) { return Digest(nullptr, 0, data.data(), data.size()); }

std::string ToHex(const Sha256Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    s[2 * i] = kHex[d[i] >> 4];
    s[2 * i + 1] = kHex[d[i] & 15];
  }
  return s;
}

}  // namespace cqrs
