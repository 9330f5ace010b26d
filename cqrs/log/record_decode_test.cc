// Damaged bytes never crash a reader: random mutations of valid records and whole segment files.
#include <gtest/gtest.h>

#include <random>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/log.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

std::string ValidRecords(int n) {
  std::string out;
  Sha256Digest prev{};
  for (int i = 1; i <= n; ++i) {
    const std::string payload = testing::PayloadFor(i, 10 + i * 13 % 100);
    RecordDraft d;
    d.event_id = Uuid::V7();
    d.stream = "s";
    d.type = "T";
    d.payload = payload;
    prev = EncodeRecord(d, Position(i), prev, out);
  }
  return out;
}

TEST(RecordDecode, MutatedRecordsDecodeOnlyWhenTheCrcHolds) {
  const std::string valid = ValidRecords(20);
  std::mt19937_64 rng(42);
  int decoded_clean = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    std::string_view rest = bytes;
    while (!rest.empty()) {
      const Decoded d = DecodeRecord(rest);
      if (d.outcome != DecodeOutcome::kOk) break;
      ASSERT_LE(d.record_bytes, rest.size());
      ASSERT_EQ(d.view.payload.data() + d.view.payload.size() + format::kHashBytes, rest.data() + d.record_bytes);
      rest.remove_prefix(d.record_bytes);
      ++decoded_clean;
    }
  }
  EXPECT_GT(decoded_clean, 0);
}

TEST(RecordDecode, RandomSegmentFilesOpenOrReportCorruptionNeverCrash) {
  std::mt19937_64 rng(7);
  const std::string valid = ValidRecords(30);
  for (int round = 0; round < 300; ++round) {
    cqrs::testing::TempDir dir;
    std::string file = EncodeSegmentHeader(Position(1)) + valid;
    const int flips = static_cast<int>(rng() % 6);
    for (int f = 0; f < flips; ++f) file[rng() % file.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) file.resize(rng() % file.size());
    testing::WriteAllBytes(dir / SegmentFileName(Position(1)), file);
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok());
    LogOptions o;
    o.dir = dir.path();
    o.preallocate = false;
    auto log = Log::Open(o);
    if (!log.ok()) {
      EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().ToString();
      EXPECT_TRUE(report->problem.has_value()) << "open refused what verify accepted";
      continue;
    }
    // What opened is readable end to end.
    std::uint64_t n = 0;
    EXPECT_TRUE((*log)->Scan(Position(1), ~std::size_t{0}, [&](const RecordView&) { return ++n > 0; }).ok());
    EXPECT_EQ(n, (*log)->durable_head().value());
  }
}

}  // namespace
}  // namespace cqrs::log
