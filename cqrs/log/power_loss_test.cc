// Power loss, not just a killed process: every state a power cut could leave the log and the
// consumer offsets in (PowerLossDisk: unsynced writes lost, or torn at page granularity and
// persisted out of order; unsynced directory changes lost) must open without an operator and
// hold every acknowledged record and offset.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <stdexcept>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/log/log.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/log/power_loss_disk.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

using cqrs::testing::TempDir;
using testing::PayloadFor;
using testing::PowerLossDisk;
using testing::StreamFor;

constexpr std::uint64_t kSegmentBytes = 16 << 10;  // small: batches cross segments
constexpr const char* kGroup = "validator";

std::size_t SizeFor(std::uint64_t position) { return 100 + (position * 37) % 900; }

// What the test was told was durable, and when (in recorded file operations).
struct Acks {
  std::vector<std::pair<std::size_t, std::uint64_t>> records;  // (ops recorded, last position)
  std::vector<std::pair<std::size_t, std::uint64_t>> offsets;  // (ops recorded, offset)
  static std::uint64_t At(const std::vector<std::pair<std::size_t, std::uint64_t>>& acks, std::size_t ops) {
    std::uint64_t best = 0;
    for (const auto& [when, value] : acks) {
      if (when <= ops) best = std::max(best, value);
    }
    return best;
  }
};

// Appends batches of 1..12 records (one Stage each: one group commit each) and commits the
// consumer offset every third batch, recording every operation on `disk`.
Acks RunWorkload(const std::filesystem::path& dir, PowerLossDisk& disk, bool preallocate) {
  Acks acks;
  SetFileObserver(&disk);
  {
    LogOptions o;
    o.dir = dir / "log";
    o.segment_bytes = kSegmentBytes;
    o.preallocate = preallocate;
    auto log = Log::Open(o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    auto offsets = ConsumerOffsets::Open(dir / "offsets");
    EXPECT_TRUE(offsets.ok());
    std::uint64_t next = 1;
    for (int batch = 0; batch < 24; ++batch) {
      const std::size_t count = 1 + static_cast<std::size_t>(batch * 5) % 12;
      std::vector<std::string> payloads, streams;
      std::vector<RecordDraft> drafts(count);
      payloads.reserve(count);
      streams.reserve(count);
      for (std::size_t i = 0; i < count; ++i) {
        payloads.push_back(PayloadFor(next + i, SizeFor(next + i)));
        streams.push_back(StreamFor(next + i));
        drafts[i].event_id = Uuid::V7();
        drafts[i].stream = streams.back();
        drafts[i].version = StreamVersion(next + i);
        drafts[i].type = "Test";
        drafts[i].payload = payloads.back();
      }
      auto range = (*log)->Stage(drafts);
      EXPECT_TRUE(range.ok());
      EXPECT_TRUE((*log)->AwaitDurable(range->last).ok());
      acks.records.emplace_back(disk.ops(), range->last.value());
      next = range->last.value() + 1;
      if (batch % 3 == 2) {
        EXPECT_TRUE((*offsets)->Commit(kGroup, range->last).ok());
        acks.offsets.emplace_back(disk.ops(), range->last.value());
      }
    }
  }
  SetFileObserver(nullptr);
  return acks;
}

// A directory for one crash state: on tmpfs when there is one, as the states number in the
// thousands and every open syncs (a sync on tmpfs costs nothing; what is tested is what the
// files hold, not the device).
class StateDir {
 public:
  StateDir() {
    std::string tmpl = (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                  : std::filesystem::temp_directory_path()) /
                       "adsd-power-loss-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void CheckEveryCrashState(bool preallocate) {
  TempDir live;
  PowerLossDisk disk(live.path());
  const Acks acks = RunWorkload(live.path(), disk, preallocate);
  ASSERT_GT(acks.records.back().second, 100u);
  std::size_t states = 0, cut = 0;
  for (std::size_t n = 0; n <= disk.ops(); ++n) {
    const std::uint64_t acked = Acks::At(acks.records, n);
    const std::uint64_t offset_acked = Acks::At(acks.offsets, n);
    for (const auto& variant : disk.VariantsAt(n)) {
      SCOPED_TRACE("power cut after " + std::to_string(n) + " operations, " + variant.Name());
      StateDir crashed;
      ASSERT_TRUE(disk.Materialize(n, variant, crashed.path()).ok());
      ++states;
      {
        LogOptions o;
        o.dir = crashed / "log";
        o.segment_bytes = kSegmentBytes;
        o.preallocate = preallocate;
        auto log = Log::Open(o);
        ASSERT_TRUE(log.ok()) << log.status().ToString();
        EXPECT_GE((*log)->durable_head().value(), acked);
        if ((*log)->recovery().truncated_bytes > 0) ++cut;
        std::uint64_t seen = 0;
        ASSERT_TRUE((*log)
                        ->Scan(Position(1), ~std::size_t{0},
                               [&](const RecordView& v) {
                                 ++seen;
                                 EXPECT_EQ(v.position.value(), seen);
                                 EXPECT_EQ(v.payload, PayloadFor(seen, SizeFor(seen)));
                                 return true;
                               })
                        .ok());
        EXPECT_EQ(seen, (*log)->durable_head().value());
        auto offsets = ConsumerOffsets::Open(crashed / "offsets");
        ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
        EXPECT_GE((*offsets)->Load(kGroup).value(), offset_acked);
      }
      // What recovery left verifies, hash chain included.
      auto report = VerifyLog(crashed / "log");
      ASSERT_TRUE(report.ok());
      EXPECT_FALSE(report->problem.has_value()) << report->problem->reason;
    }
  }
  // The enumeration must really have produced torn batches for recovery to cut.
  EXPECT_GT(cut, 0u);
  std::printf("%zu crash states after %zu file operations, %zu with a tail cut\n", states, disk.ops(), cut);
}

TEST(PowerLoss, EveryCrashStateOpensWithEveryAcknowledgedRecordInAppendedSegments) {
  CheckEveryCrashState(/*preallocate=*/false);
}

TEST(PowerLoss, EveryCrashStateOpensWithEveryAcknowledgedRecordInPreallocatedSegments) {
  CheckEveryCrashState(/*preallocate=*/true);
}

}  // namespace
}  // namespace cqrs::log
