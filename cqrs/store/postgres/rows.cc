#include "cqrs/store/postgres/rows.h"

#include <charconv>
#include <cstring>

#include "cqrs/core/hex.h"

namespace cqrs::pg_rows {

Uuid ParseUuid(std::string_view t) { return Uuid::Parse(t).value_or(Uuid::Nil()); }

RecordedEvent FromRow(const pg::Rows& rows, int i, int first) {
  RecordedEvent e;
  e.position = Position(rows.IsNull(i, first) ? 0 : static_cast<std::uint64_t>(rows.Int(i, first)));
  e.stream = std::string(rows.Text(i, first + 1));
  e.version = StreamVersion(static_cast<std::uint64_t>(rows.Int(i, first + 2)));
  e.event_id = ParseUuid(rows.Text(i, first + 3));
  e.type = std::string(rows.Text(i, first + 4));
  e.schema_version = static_cast<std::uint32_t>(rows.Int(i, first + 5));
  e.timestamp_us = rows.Int(i, first + 6);
  e.correlation_id = ParseUuid(rows.Text(i, first + 7));
  e.causation_id = ParseUuid(rows.Text(i, first + 8));
  e.metadata = rows.Bytes(i, first + 9);
  e.payload = rows.Bytes(i, first + 10);
  if (!rows.IsNull(i, first + 11)) {
    const std::string hash = rows.Bytes(i, first + 11);
    if (hash.size() == e.hash.size()) std::memcpy(e.hash.data(), hash.data(), hash.size());
  }
  if (rows.columns() > first + 12 && !rows.IsNull(i, first + 12)) {
    std::string_view hex = rows.Text(i, first + 12);
    while (!hex.empty()) {
      const std::size_t comma = hex.find(',');
      const std::string_view h = hex.substr(0, comma);
      std::string& tag = e.tags.emplace_back();
      for (std::size_t k = 0; k + 1 < h.size(); k += 2) {
        tag += static_cast<char>(HexDigitValue(h[k]) * 16 + HexDigitValue(h[k + 1]));
      }
      if (comma == std::string_view::npos) break;
      hex.remove_prefix(comma + 1);
    }
  }
  return e;
}

std::string ByteaHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void AddNotify(std::vector<pg::Statement>& pipeline, pg::Statement notify) {
  pipeline.emplace_back("BEGIN");
  pipeline.emplace_back("SET LOCAL synchronous_commit = off");
  pipeline.push_back(std::move(notify));
  pipeline.emplace_back("COMMIT");
}

std::vector<std::int64_t> ParseBigintArray(std::string_view t) {
  std::vector<std::int64_t> out;
  std::size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(t.data() + i, t.data() + t.size(), v);
      if (ec != std::errc()) break;
      out.push_back(v);
      i = static_cast<std::size_t>(end - t.data());
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<Uuid> ParseUuidArray(std::string_view t) {
  std::vector<Uuid> out;
  if (t.size() < 2) return out;
  t = t.substr(1, t.size() - 2);  // the braces
  while (!t.empty()) {
    const std::size_t comma = t.find(',');
    out.push_back(ParseUuid(t.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    t.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace cqrs::pg_rows
