// libFuzzer target: the log's decoders must survive any bytes a damaged disk could hold.
// Built only with clang (scripts/fuzz.sh); the gcc build runs record_decode_test.cc instead.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cqrs/log/record_codec.h"
#include "cqrs/log/segment_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)cqrs::log::DecodeSegmentHeader(bytes);
  std::string_view rest = bytes;
  while (!rest.empty()) {
    const cqrs::log::Decoded d = cqrs::log::DecodeRecord(rest);
    if (d.outcome != cqrs::log::DecodeOutcome::kOk) break;
    rest.remove_prefix(d.record_bytes);
  }
  return 0;
}
