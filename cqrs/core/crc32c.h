// CRC32C (Castagnoli), as used to frame every log record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a
// table-driven portable version otherwise; both are tested against the RFC 3720 vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cqrs::crc32c {

// Extends `crc` (the value of a previous call, or 0 to start) with `n` bytes.
std::uint32_t Extend(std::uint32_t crc, const void* data, std::size_t n);

inline std::uint32_t Value(const void* data, std::size_t n) { return Extend(0, data, n); }
inline std::uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// The two implementations, exposed so that tests can check each against known vectors.
std::uint32_t ExtendPortable(std::uint32_t crc, const void* data, std::size_t n);
std::uint32_t ExtendHardware(std::uint32_t crc, const void* data, std::size_t n);
bool HardwareAvailable();

}  // namespace cqrs::crc32c
