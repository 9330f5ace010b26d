// libFuzzer target: a bus message decoder sees headers and a value any producer could have
// written. The input is read as: a header count (one byte, mod 16), then per header a name
// (one length byte + bytes) and a value (two length bytes, big-endian + bytes); the rest is the
// message value.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cqrs/kafka/event_codec.h"

namespace {

bool Same(const cqrs::RecordedEvent& a, const cqrs::RecordedEvent& b) {
  return a.event_id == b.event_id && a.stream == b.stream && a.version == b.version && a.position == b.position &&
         a.type == b.type && a.schema_version == b.schema_version && a.timestamp_us == b.timestamp_us &&
         a.correlation_id == b.correlation_id && a.causation_id == b.causation_id && a.metadata == b.metadata &&
         a.payload == b.payload && a.hash == b.hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto take = [&in](std::size_t n) {
    n = std::min(n, in.size());
    std::string_view out = in.substr(0, n);
    in.remove_prefix(n);
    return out;
  };
  auto length = [&](int bytes) {
    std::size_t n = 0;
    for (char c : take(static_cast<std::size_t>(bytes))) n = (n << 8) | static_cast<std::uint8_t>(c);
    return n;
  };
  std::vector<cqrs::kafka::BusHeader> headers(length(1) % 16);
  for (auto& h : headers) {
    h.name = std::string(take(length(1)));
    h.value = std::string(take(length(2)));
  }
  auto e = cqrs::kafka::DecodeEvent(headers, in);
  if (e.ok()) {
    // What decodes encodes to a message that decodes to the same event: no field is dropped,
    // invented or changed on the way through the codec.
    const cqrs::kafka::BusMessage m = cqrs::kafka::EncodeEvent(*e);
    auto again = cqrs::kafka::DecodeEvent(m.headers, m.value);
    if (!again.ok() || !Same(*e, *again) || m.key != e->stream) __builtin_trap();
  }
  return 0;
}
