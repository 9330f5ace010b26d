// BM_WriteDatasync: the cost the log's group commit pays per batch, measured on the raw file
// system: one write of `bytes` then fdatasync, either appending to a growing file (the size
// change must be journaled too) or overwriting a file zero-filled beforehand (data only). This is
// the measurement behind the log's segment preallocation.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "bench/bench_data.h"

namespace adsd::bench {
namespace {

void BM_WriteDatasync(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const bool preallocated = state.range(1) == 1;
  const auto dir = FreshDir("fsync");
  const auto path = dir / "file";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return state.SkipWithError("open failed");
  constexpr std::size_t kFileBytes = 256u << 20;
  if (preallocated) {
    const std::string zeros(1u << 20, '\0');
    for (std::size_t at = 0; at < kFileBytes; at += zeros.size()) {
      if (::write(fd, zeros.data(), zeros.size()) < 0) return state.SkipWithError("write failed");
    }
    ::fdatasync(fd);
  }
  const std::string buf(bytes, 'x');
  off_t offset = 0;
  for (auto _ : state) {
    if (static_cast<std::size_t>(offset) + bytes > kFileBytes) offset = 0;
    if (::pwrite(fd, buf.data(), bytes, offset) != static_cast<ssize_t>(bytes) || ::fdatasync(fd) != 0) {
      return state.SkipWithError("write or fdatasync failed");
    }
    offset += static_cast<off_t>(bytes);
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetLabel(preallocated ? "overwrite zero-filled file" : "append, file grows");
}
BENCHMARK(BM_WriteDatasync)
    ->ArgNames({"bytes", "preallocated"})
    ->ArgsProduct({{400, 25600}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace adsd::bench
