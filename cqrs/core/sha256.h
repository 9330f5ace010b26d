// SHA-256 over OpenSSL's libcrypto, for the log's hash chain.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cqrs {

using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256(a || b): the chain step, hash = SHA-256(previous hash || record bytes).
Sha256Digest Sha256Concat(const Sha256Digest& a, const void* b, std::size_t b_len);
Sha256Digest Sha256(std::string_view data);

// Lowercase hex, 64 characters.
std::string ToHex(const Sha256Digest& d);

}  // namespace cqrs
