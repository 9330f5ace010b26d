#include "cqrs/kafka/event_codec.h"

#include <cstring>

namespace cqrs::kafka {

namespace {

constexpr std::uint8_t kFormat = 1;

void PutU(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutStr(std::string& out, std::string_view s) {
  PutU(out, s.size(), 4);
  out.append(s);
}
template <std::size_t N>
void PutRaw(std::string& out, const std::array<std::uint8_t, N>& a) {
  out.append(reinterpret_cast<const char*>(a.data()), N);
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool U(std::uint64_t& v, int bytes) {
    if (b_.size() < static_cast<std::size_t>(bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(b_[i]);
    b_.remove_prefix(bytes);
    return true;
  }
  bool Str(std::string& s) {
    std::uint64_t n = 0;
    if (!U(n, 4) || b_.size() < n) return false;
    s.assign(b_.data(), n);
    b_.remove_prefix(n);
    return true;
  }
  template <std::size_t N>
  bool Raw(std::array<std::uint8_t, N>& a) {
    if (b_.size() < N) return false;
    std::memcpy(a.data(), b_.data(), N);
    b_.remove_prefix(N);
    return true;
  }
  bool done() const { return b_.empty(); }

 private:
  std::string_view b_;
};

}  // namespace

std::string EncodeEvent(const RecordedEvent& e) {
  std::string out;
  out.reserve(160 + e.stream.size() + e.type.size() + e.metadata.size() + e.payload.size());
  PutU(out, kFormat, 1);
  PutU(out, e.position.value(), 8);
  PutStr(out, e.stream);
  PutU(out, e.version.value(), 8);
  PutRaw(out, e.event_id.bytes);
  PutStr(out, e.type);
  PutU(out, e.schema_version, 4);
  PutU(out, static_cast<std::uint64_t>(e.timestamp_us), 8);
  PutRaw(out, e.correlation_id.bytes);
  PutRaw(out, e.causation_id.bytes);
  PutStr(out, e.metadata);
  PutStr(out, e.payload);
  PutRaw(out, e.hash);
  return out;
}

Result<RecordedEvent> DecodeEvent(std::string_view bytes) {
  Reader r(bytes);
  RecordedEvent e;
  std::uint64_t format = 0, position = 0, version = 0, schema = 0, ts = 0;
  if (!r.U(format, 1)) return Corruption("bus message: empty");
  if (format != kFormat) return Corruption("bus message: unknown format " + std::to_string(format));
  const bool ok = r.U(position, 8) && r.Str(e.stream) && r.U(version, 8) && r.Raw(e.event_id.bytes) &&
                  r.Str(e.type) && r.U(schema, 4) && r.U(ts, 8) && r.Raw(e.correlation_id.bytes) &&
                  r.Raw(e.causation_id.bytes) && r.Str(e.metadata) && r.Str(e.payload) && r.Raw(e.hash);
  if (!ok) return Corruption("bus message: truncated");
  if (!r.done()) return Corruption("bus message: trailing bytes");
  if (position == 0 || version == 0 || e.stream.empty()) return Corruption("bus message: no position, version or stream");
  e.position = Position(position);
  e.version = StreamVersion(version);
  e.schema_version = static_cast<std::uint32_t>(schema);
  e.timestamp_us = static_cast<std::int64_t>(ts);
  return e;
}

}  // namespace cqrs::kafka
