// Helpers for the log's tests: open, append, and poke at segment files byte by byte.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cqrs/log/format.h"
#include "cqrs/log/log.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/log/segment_reader.h"

namespace cqrs::log::testing {

// Content that can be recomputed from the position alone, so a reader can check every byte.
inline std::string PayloadFor(std::uint64_t n, std::size_t size = 64) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((n * 131 + i * 7) & 0xFF);
  return s;
}

inline std::string StreamFor(std::uint64_t n) { return "stream-" + std::to_string(n % 7); }

inline std::unique_ptr<Log> OpenOrDie(const std::filesystem::path& dir, std::uint64_t segment_bytes = 256ull << 20,
                                      bool preallocate = true) {
  LogOptions o;
  o.dir = dir;
  o.segment_bytes = segment_bytes;
  o.preallocate = preallocate;
  auto log = Log::Open(o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends records n = first..last (payload and stream derived from n) and waits for durability.
inline void AppendRange(Log& log, std::uint64_t first, std::uint64_t last, std::size_t size = 64) {
  for (std::uint64_t n = first; n <= last; ++n) {
    const std::string payload = PayloadFor(n, size);
    const std::string stream = StreamFor(n);
    RecordDraft d;
    d.event_id = Uuid::V7();
    d.stream = stream;
    d.version = StreamVersion(n);
    d.type = "Test";
    d.payload = payload;
    auto r = log.Stage(std::span(&d, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->first.value(), n);
    ASSERT_TRUE(log.AwaitDurable(r->last).ok());
  }
}

// Checks that the log holds exactly records 1..count with the derived payloads.
inline void ExpectRecords(const Log& log, std::uint64_t count, std::size_t size = 64) {
  std::uint64_t seen = 0;
  Status st = log.Scan(Position(1), ~std::size_t{0}, [&](const RecordView& v) {
    ++seen;
    EXPECT_EQ(v.position.value(), seen);
    EXPECT_EQ(v.payload, PayloadFor(seen, size)) << "position " << seen;
    EXPECT_EQ(v.stream, StreamFor(seen));
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen, count);
  EXPECT_EQ(log.durable_head().value(), count);
}

struct RecordSpan {
  std::uint64_t offset;
  std::uint64_t size;
  std::uint64_t position;
};

// Where each record of a segment file lies.
inline std::vector<RecordSpan> RecordsIn(const std::filesystem::path& segment) {
  auto fd = OpenFile(segment, O_RDONLY);
  EXPECT_TRUE(fd.ok());
  auto size = FileSize(fd->get(), segment);
  SegmentReader reader(fd->get(), segment, format::kSegmentHeaderBytes, *size);
  std::vector<RecordSpan> out;
  while (true) {
    auto n = reader.Read();
    if (!n.ok() || n->kind != SegmentReader::Kind::kRecord) break;
    out.push_back({n->offset, n->raw.size(), n->view.position.value()});
  }
  return out;
}

inline std::vector<std::filesystem::path> SegmentsOf(const std::filesystem::path& dir) {
  auto list = ListSegments(dir);
  EXPECT_TRUE(list.ok());
  std::vector<std::filesystem::path> out;
  for (const auto& s : *list) out.push_back(s.path);
  return out;
}

inline std::string ReadAllBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteAllBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace cqrs::log::testing
