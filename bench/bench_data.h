// Data directories for the engine benchmarks: fresh ones, and prebuilt logs cached across runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace adsd::bench {

// $ADSD_BENCH_DIR, or ./bench-data. Must be on a real disk (not tmpfs) for durable figures.
std::filesystem::path BenchRoot();

// A new, empty directory under BenchRoot(), removed by the caller.
std::filesystem::path FreshDir(const std::string& name);

// A log of `events` events (256-byte payloads over 100,000 streams, versions in order), built once
// and kept under BenchRoot() so that reruns skip the build.
std::filesystem::path PrebuiltLog(std::uint64_t events);

inline constexpr std::size_t kPayloadBytes = 256;

}  // namespace adsd::bench
