// Recovery and tamper evidence, by damaging real segment files byte by byte.
#include <gtest/gtest.h>

#include "cqrs/core/crc32c.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/log.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

using cqrs::testing::TempDir;
using testing::AppendRange;
using testing::ExpectRecords;
using testing::OpenOrDie;
using testing::ReadAllBytes;
using testing::RecordsIn;
using testing::SegmentsOf;
using testing::WriteAllBytes;

Result<std::unique_ptr<Log>> TryOpen(const std::filesystem::path& dir, bool preallocate = true,
                                     std::uint64_t segment_bytes = 256ull << 20) {
  LogOptions o;
  o.dir = dir;
  o.preallocate = preallocate;
  o.segment_bytes = segment_bytes;
  return Log::Open(o);
}

// Writes `count` records into a single plain (not preallocated) segment.
std::filesystem::path MakeLog(const std::filesystem::path& dir, std::uint64_t count) {
  auto log = OpenOrDie(dir, 256ull << 20, /*preallocate=*/false);
  AppendRange(*log, 1, count);
  return SegmentsOf(dir).back();
}

// Appends records first..first+count-1 with one Stage: one group commit, one batch.
void AppendBatch(Log& log, std::uint64_t first, std::size_t count) {
  std::vector<std::string> payloads, streams;
  payloads.reserve(count);
  streams.reserve(count);
  std::vector<RecordDraft> drafts(count);
  for (std::size_t i = 0; i < count; ++i) {
    payloads.push_back(testing::PayloadFor(first + i));
    streams.push_back(testing::StreamFor(first + i));
    drafts[i].event_id = Uuid::V7();
    drafts[i].stream = streams.back();
    drafts[i].version = StreamVersion(first + i);
    drafts[i].type = "Test";
    drafts[i].payload = payloads.back();
  }
  auto r = log.Stage(drafts);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->first.value(), first);
  ASSERT_TRUE(log.AwaitDurable(r->last).ok());
}

// Three batches: positions 1-4, 5-8, 9-12.
std::filesystem::path MakeBatchedLog(const std::filesystem::path& dir) {
  auto log = OpenOrDie(dir, 256ull << 20, /*preallocate=*/false);
  AppendBatch(*log, 1, 4);
  AppendBatch(*log, 5, 4);
  AppendBatch(*log, 9, 4);
  return SegmentsOf(dir).back();
}

TEST(LogRecovery, LastBatchDamagedBeforeItsOwnLaterRecordsIsCutAndReported) {
  // A power cut can persist a batch's later pages and not its earlier ones: the batch was never
  // synced, so never acknowledged, and recovery cuts it instead of asking an operator.
  TempDir dir;
  const auto seg = MakeBatchedLog(dir.path());
  std::string bytes = ReadAllBytes(seg);
  const auto recs = RecordsIn(seg);
  ASSERT_EQ(recs.size(), 12u);
  const auto victim = recs[9];  // position 10, in the last batch, with 11 and 12 after it
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(victim.offset),
            bytes.begin() + static_cast<std::ptrdiff_t>(victim.offset + victim.size), '\0');
  WriteAllBytes(seg, bytes);
  auto log = TryOpen(dir.path());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ExpectRecords(**log, 9);
  const RecoveryReport& r = (*log)->recovery();
  EXPECT_EQ(r.truncated_bytes, bytes.size() - victim.offset);
  EXPECT_EQ(r.truncated_segment, seg.filename().string());
  EXPECT_EQ(r.truncated_at, victim.offset);
  EXPECT_EQ(r.first_truncated, Position(10));
  EXPECT_EQ(r.last_truncated_seen, Position(12));
  const std::string line = DescribeTruncation(r);
  for (const std::string& part : {seg.filename().string(), std::string("position 10 to 12"),
                                  "offset " + std::to_string(victim.offset), std::string("ends at position 9")}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in: " << line;
  }
}

TEST(LogRecovery, DamageFollowedByALaterBatchIsCorruption) {
  // The second batch was synced before the third was written: damage in it is not a torn write.
  TempDir dir;
  const auto seg = MakeBatchedLog(dir.path());
  std::string bytes = ReadAllBytes(seg);
  const auto victim = RecordsIn(seg)[7];  // position 8, the last of the second batch
  bytes[victim.offset + 30] ^= 0x10;
  WriteAllBytes(seg, bytes);
  auto log = TryOpen(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find("offset " + std::to_string(victim.offset)), std::string::npos);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position, Position(8));
}

TEST(LogRecovery, SegmentWithoutBatchMarksKeepsTheStrictRule) {
  // A segment written before records marked batch starts: any valid record after damage may
  // be acknowledged, so damage there is refused as before.
  TempDir dir;
  const auto seg = MakeBatchedLog(dir.path());
  std::string bytes = ReadAllBytes(seg);
  format::Store<std::uint32_t>(bytes.data() + format::kOffHeaderFlags, 0);
  format::Store<std::uint32_t>(bytes.data() + 28, crc32c::Value(bytes.data(), 28));
  const auto victim = RecordsIn(seg)[9];
  bytes[victim.offset + 30] ^= 0x10;
  WriteAllBytes(seg, bytes);
  auto log = TryOpen(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
}

TEST(LogRecovery, TruncatedLastRecordIsDroppedAtEveryByteOffset) {
  TempDir base;
  const auto seg = MakeLog(base / "orig", 5);
  const std::string bytes = ReadAllBytes(seg);
  const auto records = RecordsIn(seg);
  ASSERT_EQ(records.size(), 5u);
  const auto last = records.back();
  ASSERT_EQ(last.offset + last.size, bytes.size());
  for (std::uint64_t cut = last.offset; cut < bytes.size(); ++cut) {
    TempDir dir;
    WriteAllBytes(dir / seg.filename().string(), bytes.substr(0, cut));
    {
      auto log = TryOpen(dir.path());
      ASSERT_TRUE(log.ok()) << "cut at " << cut << ": " << log.status().ToString();
      EXPECT_EQ((*log)->recovery().truncated_bytes, cut - last.offset) << cut;
      ExpectRecords(**log, 4);
      AppendRange(**log, 5, 6);  // the log goes on where the torn record was
    }
    auto log = TryOpen(dir.path());
    ASSERT_TRUE(log.ok());
    ExpectRecords(**log, 6);
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->problem.has_value()) << report->problem->reason;
  }
}

TEST(LogRecovery, TornTailInsidePreallocatedSegmentIsDropped) {
  TempDir dir;
  std::filesystem::path seg;
  {
    auto log = OpenOrDie(dir.path(), 64 << 10, /*preallocate=*/true);
    AppendRange(*log, 1, 400);  // enough traffic for a spare, then a preallocated segment
    seg = SegmentsOf(dir.path()).back();
  }
  std::string bytes = ReadAllBytes(seg);
  const auto records = RecordsIn(seg);
  ASSERT_GE(records.size(), 2u);
  const auto last = records.back();
  ASSERT_LT(last.offset + last.size, bytes.size()) << "expected a zero-filled tail";
  // Zero the second half of the last record, as if the write stopped in the middle.
  for (std::uint64_t i = last.offset + last.size / 2; i < last.offset + last.size; ++i) bytes[i] = 0;
  WriteAllBytes(seg, bytes);
  auto log = TryOpen(dir.path(), true, 64 << 10);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->durable_head().value(), last.position - 1);
  EXPECT_GT((*log)->recovery().truncated_bytes, 0u);
}

TEST(LogRecovery, FlippedByteBeforeTheTailIsCorruptionNamingSegmentAndOffset) {
  TempDir base;
  const auto seg = MakeLog(base / "orig", 10);
  const std::string bytes = ReadAllBytes(seg);
  const auto records = RecordsIn(seg);
  const auto victim = records[3];  // position 4, followed by good records
  for (std::uint64_t at : {victim.offset + 2, victim.offset + 5, victim.offset + 20, victim.offset + victim.size - 1}) {
    TempDir dir;
    std::string damaged = bytes;
    damaged[at] ^= 0x40;
    WriteAllBytes(dir / seg.filename().string(), damaged);
    auto log = TryOpen(dir.path());
    ASSERT_FALSE(log.ok()) << "flip at " << at;
    EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
    EXPECT_NE(log.status().message().find(seg.filename().string()), std::string::npos);
    EXPECT_NE(log.status().message().find("offset " + std::to_string(victim.offset)), std::string::npos)
        << log.status().message();
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->problem.has_value());
    EXPECT_EQ(report->problem->position, Position(4));
    EXPECT_EQ(report->problem->offset, victim.offset);
    EXPECT_EQ(report->records, 3u);
  }
}

TEST(LogRecovery, FlippedByteInASealedSegmentIsCorruption) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path(), 8 << 10, /*preallocate=*/false);
    AppendRange(*log, 1, 300);
  }
  const auto segs = SegmentsOf(dir.path());
  ASSERT_GT(segs.size(), 2u);
  const auto sealed = segs[1];
  const auto records = RecordsIn(sealed);
  // Damage the sealed segment's LAST record: in a sealed segment even that is not a torn tail.
  std::string bytes = ReadAllBytes(sealed);
  bytes[records.back().offset + 30] ^= 1;
  WriteAllBytes(sealed, bytes);
  auto log = TryOpen(dir.path(), false, 8 << 10);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  EXPECT_NE(log.status().message().find(sealed.filename().string()), std::string::npos);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position.value(), records.back().position);
  EXPECT_EQ(report->problem->segment, sealed.filename().string());
}

TEST(LogRecovery, EditedPayloadWithRecomputedCrcIsCaughtByTheHashChain) {
  TempDir dir;
  const auto seg = MakeLog(dir.path(), 10);
  std::string bytes = ReadAllBytes(seg);
  const auto victim = RecordsIn(seg)[6];  // position 7
  // Change a payload byte (the payload sits before the 32-byte hash at the end of the body).
  const std::uint64_t body = victim.offset + format::kFrameBytes;
  const std::uint64_t body_len = victim.size - format::kFrameBytes;
  bytes[body + body_len - format::kHashBytes - 1] ^= 0x55;
  format::Store<std::uint32_t>(bytes.data() + victim.offset + 4, crc32c::Value(bytes.data() + body, body_len));
  WriteAllBytes(seg, bytes);

  auto log = TryOpen(dir.path());
  ASSERT_TRUE(log.ok()) << "the CRC is valid, so open accepts the bytes";
  log = Status(StatusCode::kUnavailable, "closed");
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position, Position(7));
  EXPECT_NE(report->problem->reason.find("hash chain"), std::string::npos);
}

TEST(LogRecovery, RemovedRecordIsNamedByVerifyAndRefusedByOpen) {
  TempDir dir;
  const auto seg = MakeLog(dir.path(), 10);
  std::string bytes = ReadAllBytes(seg);
  const auto victim = RecordsIn(seg)[4];  // position 5
  bytes.erase(victim.offset, victim.size);
  WriteAllBytes(seg, bytes);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position, Position(5));
  EXPECT_NE(report->problem->reason.find("expected position 5, found 6"), std::string::npos);
  auto log = TryOpen(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
}

TEST(LogRecovery, SwappedRecordsAreNamedByVerify) {
  TempDir dir;
  const auto seg = MakeLog(dir.path(), 10);
  const std::string bytes = ReadAllBytes(seg);
  const auto recs = RecordsIn(seg);
  const auto a = recs[2], b = recs[3];  // positions 3 and 4
  std::string swapped = bytes.substr(0, a.offset) + bytes.substr(b.offset, b.size) + bytes.substr(a.offset, a.size) +
                        bytes.substr(b.offset + b.size);
  WriteAllBytes(seg, swapped);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position, Position(3));
  EXPECT_FALSE(TryOpen(dir.path()).ok());
}

TEST(LogRecovery, LastSegmentWithTornHeaderAndNoRecordsIsRemoved) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path(), 256ull << 20, false);
    AppendRange(*log, 1, 3);
  }
  // A segment whose creation was interrupted: only part of its header reached the disk.
  const auto next = dir / SegmentFileName(Position(4));
  WriteAllBytes(next, EncodeSegmentHeader(Position(4)).substr(0, 10));
  {
    auto log = TryOpen(dir.path());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ExpectRecords(**log, 3);
    EXPECT_FALSE(std::filesystem::exists(next));
    AppendRange(**log, 4, 5);
  }
  auto log = TryOpen(dir.path());
  ExpectRecords(**log, 5);
}

TEST(LogRecovery, DeletedSealedSegmentIsAGap) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path(), 8 << 10, false);
    AppendRange(*log, 1, 300);
  }
  const auto segs = SegmentsOf(dir.path());
  ASSERT_GT(segs.size(), 3u);
  const auto first_of_deleted = RecordsIn(segs[1]).front().position;
  std::filesystem::remove(segs[1]);
  auto log = TryOpen(dir.path(), false, 8 << 10);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report->problem.has_value());
  EXPECT_EQ(report->problem->position.value(), first_of_deleted);
}

TEST(LogRecovery, ZeroLengthFieldFollowedByDataIsNotMistakenForTheEnd) {
  TempDir dir;
  const auto seg = MakeLog(dir.path(), 10);
  std::string bytes = ReadAllBytes(seg);
  const auto victim = RecordsIn(seg)[2];
  format::Store<std::uint32_t>(bytes.data() + victim.offset, 0);
  WriteAllBytes(seg, bytes);
  auto log = TryOpen(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
}

TEST(LogRecovery, SealedSegmentEndingFewerThanFourZeroBytesBeforeItsEndIsIntact) {
  // A preallocated segment whose last record ends 1..3 bytes before the end of the file: the
  // leftover zeros are too short to hold a length field and must still read as the end.
  TempDir dir;
  const auto seg = MakeLog(dir.path(), 3);
  for (int pad = 1; pad <= 7; ++pad) {
    std::string bytes = ReadAllBytes(seg) + std::string(static_cast<std::size_t>(pad), '\0');
    TempDir copy;
    WriteAllBytes(copy / seg.filename().string(), bytes);
    // Make it a sealed segment by adding an empty next segment.
    WriteAllBytes(copy / SegmentFileName(Position(4)), EncodeSegmentHeader(Position(4)));
    auto log = TryOpen(copy.path());
    ASSERT_TRUE(log.ok()) << "pad " << pad << ": " << log.status().ToString();
    ExpectRecords(**log, 3);
    auto report = VerifyLog(copy.path());
    EXPECT_FALSE(report->problem.has_value()) << pad << ": " << report->problem->reason;
  }
}

}  // namespace
}  // namespace cqrs::log
