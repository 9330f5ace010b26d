#include "cqrs/kafka/event_codec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>

#include "cqrs/core/time.h"

namespace cqrs::kafka {

namespace {

// The attribute names: the spec's (ce_ + attribute), ours as extensions (lower-case letters and
// digits only, as the spec requires of extension names).
constexpr std::string_view kSpecVersion = "ce_specversion";
constexpr std::string_view kId = "ce_id";
constexpr std::string_view kSource = "ce_source";
constexpr std::string_view kType = "ce_type";
constexpr std::string_view kTime = "ce_time";
constexpr std::string_view kSubject = "ce_subject";
constexpr std::string_view kContentType = "content-type";
constexpr std::string_view kSchemaVersion = "ce_schemaversion";
constexpr std::string_view kPosition = "ce_position";
constexpr std::string_view kStreamVersion = "ce_streamversion";
constexpr std::string_view kHash = "ce_hash";
constexpr std::string_view kCorrelationId = "ce_correlationid";
constexpr std::string_view kCausationId = "ce_causationid";
constexpr std::string_view kMetadata = "ce_metadata";
constexpr std::string_view kVersion10 = "1.0";

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<std::uint8_t>(in[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kBase64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// Strict: padded, no whitespace, zero bits after the last byte (so that one text means one value).
std::optional<std::string> Unbase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && last && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      const std::size_t at = kBase64.find(c);
      if (at == std::string_view::npos || c == '=' || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(at);
    }
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) return std::nullopt;
    for (int k = 0; k < 3 - pad; ++k) out += static_cast<char>((v >> (16 - 8 * k)) & 0xff);
  }
  return out;
}

std::optional<Sha256Digest> UnHex(std::string_view in) {
  Sha256Digest d{};
  if (in.size() != 2 * d.size()) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return d;
}

// Decimal digits only (no sign, no spaces), within the type.
template <typename T>
std::optional<T> Decimal(std::string_view in) {
  T v{};
  if (in.empty() || in.size() > 20) return std::nullopt;
  for (char c : in) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), v);
  if (ec != std::errc() || end != in.data() + in.size()) return std::nullopt;
  return v;
}

bool IsZero(const Sha256Digest& d) {
  return std::all_of(d.begin(), d.end(), [](std::uint8_t b) { return b == 0; });
}

// The attributes every event has, then the extensions it has.
BusMessage Encode(const RecordedEvent& e, const CloudEventSource& source) {
  BusMessage m;
  m.key = e.stream;
  m.value = e.payload;
  m.timestamp_ms = e.timestamp_us / 1000;
  auto put = [&m](std::string_view name, std::string value) {
    m.headers.push_back({std::string(name), std::move(value)});
  };
  put(kSpecVersion, std::string(kVersion10));
  put(kId, e.event_id.ToString());
  put(kSource, source.source);
  put(kType, e.type);
  put(kTime, FormatRfc3339(e.timestamp_us));
  put(kSubject, e.stream);
  put(kContentType, source.content_type);
  put(kSchemaVersion, std::to_string(e.schema_version));
  if (e.position.value() != 0) put(kPosition, std::to_string(e.position.value()));
  if (e.version.value() != 0) put(kStreamVersion, std::to_string(e.version.value()));
  if (!IsZero(e.hash)) put(kHash, ToHex(e.hash));
  if (!e.correlation_id.is_nil()) put(kCorrelationId, e.correlation_id.ToString());
  if (!e.causation_id.is_nil()) put(kCausationId, e.causation_id.ToString());
  if (!e.metadata.empty()) put(kMetadata, Base64(e.metadata));
  return m;
}

}  // namespace

BusMessage EncodeEvent(const RecordedEvent& e, const CloudEventSource& source) { return Encode(e, source); }

BusMessage EncodeSubmission(std::string_view stream, const EventData& d, const CloudEventSource& source,
                            StreamVersion version) {
  RecordedEvent e;
  e.event_id = d.event_id;
  e.stream = std::string(stream);
  e.version = version;
  e.type = d.type;
  e.schema_version = d.schema_version;
  e.timestamp_us =
      d.timestamp_us != 0
          ? d.timestamp_us
          : std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  e.correlation_id = d.correlation_id;
  e.causation_id = d.causation_id;
  e.metadata = d.metadata;
  e.payload = d.payload;
  return Encode(e, source);
}

Result<RecordedEvent> DecodeEvent(std::span<const BusHeader> headers, std::string_view value) {
  // The attributes this codec reads, each at most once.
  constexpr std::array<std::string_view, 14> kKnown = {
      kSpecVersion,   kId,       kSource,        kType, kTime,          kSubject,     kContentType,
      kSchemaVersion, kPosition, kStreamVersion, kHash, kCorrelationId, kCausationId, kMetadata};
  std::array<const std::string*, kKnown.size()> found{};
  for (const BusHeader& h : headers) {
    const auto it = std::find(kKnown.begin(), kKnown.end(), h.name);
    if (it == kKnown.end()) continue;  // another attribute or header: not ours to judge
    const std::string*& slot = found[static_cast<std::size_t>(it - kKnown.begin())];
    if (slot != nullptr) return Corruption("bus message: attribute " + h.name + " twice");
    slot = &h.value;
  }
  auto get = [&](std::string_view name) -> const std::string* {
    return found[static_cast<std::size_t>(std::find(kKnown.begin(), kKnown.end(), name) - kKnown.begin())];
  };
  auto bad = [](std::string_view name) { return Corruption("bus message: bad " + std::string(name)); };

  const std::string* spec = get(kSpecVersion);
  if (spec == nullptr) return Corruption("bus message: not a CloudEvent (no ce_specversion)");
  if (*spec != kVersion10) return Corruption("bus message: unknown CloudEvents version " + spec->substr(0, 16));
  RecordedEvent e;
  const std::string* id = get(kId);
  if (id == nullptr) return Corruption("bus message: no ce_id");
  auto uuid = Uuid::Parse(*id);
  if (!uuid) return bad(kId);
  e.event_id = *uuid;
  const std::string* src = get(kSource);
  if (src == nullptr || src->empty()) return bad(kSource);
  const std::string* type = get(kType);
  if (type == nullptr || type->empty()) return bad(kType);
  e.type = *type;
  const std::string* subject = get(kSubject);
  if (subject == nullptr || subject->empty()) return bad(kSubject);
  e.stream = *subject;
  const std::string* time = get(kTime);
  if (time == nullptr) return bad(kTime);
  auto at = ParseRfc3339(*time);
  if (!at.ok()) return bad(kTime);
  e.timestamp_us = *at;

  if (const std::string* s = get(kSchemaVersion)) {
    auto v = Decimal<std::uint32_t>(*s);
    if (!v) return bad(kSchemaVersion);
    e.schema_version = *v;
  }
  if (const std::string* s = get(kPosition)) {
    auto v = Decimal<std::uint64_t>(*s);
    if (!v || *v == 0) return bad(kPosition);
    e.position = Position(*v);
  }
  if (const std::string* s = get(kStreamVersion)) {
    auto v = Decimal<std::uint64_t>(*s);
    if (!v || *v == 0) return bad(kStreamVersion);
    e.version = StreamVersion(*v);
  }
  if (const std::string* s = get(kHash)) {
    auto d = UnHex(*s);
    if (!d) return bad(kHash);
    e.hash = *d;
  }
  for (auto [name, field] : {std::pair{kCorrelationId, &e.correlation_id}, std::pair{kCausationId, &e.causation_id}}) {
    if (const std::string* s = get(name)) {
      auto u = Uuid::Parse(*s);
      if (!u) return bad(name);
      *field = *u;
    }
  }
  if (const std::string* s = get(kMetadata)) {
    auto m = Unbase64(*s);
    if (!m) return bad(kMetadata);
    e.metadata = std::move(*m);
  }
  e.payload = std::string(value);
  return e;
}

}  // namespace cqrs::kafka
