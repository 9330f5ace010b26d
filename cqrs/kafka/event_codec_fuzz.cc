// libFuzzer target: a bus message decoder sees bytes any producer could have written.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cqrs/kafka/event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto e = cqrs::kafka::DecodeEvent(std::string_view(reinterpret_cast<const char*>(data), size));
  if (e.ok()) {
    // What decodes re-encodes to the same bytes: no field is dropped or invented.
    if (cqrs::kafka::EncodeEvent(*e) != std::string_view(reinterpret_cast<const char*>(data), size)) __builtin_trap();
  }
  return 0;
}
