// The read-only views of the log's past: a snapshot of a live log directory (no lock taken, the
// writer keeps appending) and a prefix of any store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/log_prefix_store.h"
#include "cqrs/store/log_snapshot_store.h"

namespace cqrs {
namespace {

EventData Event(std::string payload, TimestampUs at) {
  EventData e;
  e.event_id = Uuid::V7();
  e.type = "Noted";
  e.payload = std::move(payload);
  e.timestamp_us = at;
  return e;
}

// Ten events of about 1.5 KiB on three streams, recorded at times 1000, 2000, ... 10000, in
// segments of the smallest size (three events each).
class LogViews : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = OpenEmbeddedEventStore({.dir = dir_.path(), .segment_bytes = 4096 + 32, .preallocate = false});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    for (int i = 1; i <= 10; ++i) Append(i);
  }
  void Append(int i) {
    const EventData e = Event("event " + std::to_string(i) + std::string(1500, '.'), i * 1000);
    ASSERT_TRUE(store_->Append("s-" + std::to_string(i % 3), ExpectedVersion::Any(), std::span(&e, 1)).ok());
  }
  static std::vector<std::uint64_t> Positions(const std::vector<RecordedEvent>& events) {
    std::vector<std::uint64_t> out;
    for (const auto& e : events) out.push_back(e.position.value());
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(LogViews, ASnapshotReadsALiveLogUpToItsPointWithoutItsLockAndIgnoresLaterAppends) {
  auto log_files = log::ListSegments(dir_.path());
  ASSERT_TRUE(log_files.ok());
  ASSERT_GT(log_files->size(), 2u) << "small segments: the snapshot crosses segment files";
  auto snap = OpenLogSnapshot({dir_.path(), {.position = Position(7)}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Append(11);  // the writer goes on meanwhile
  EXPECT_EQ((*snap)->Head(), Position(7));
  auto all = (*snap)->ReadAll(Position(1), 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Positions(*all), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  // Paged reads continue where they ended, and any page can be asked for.
  auto page = (*snap)->ReadAll(Position(3), 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Positions(*page), (std::vector<std::uint64_t>{3, 4}));
  page = (*snap)->ReadAll(Position(5), 10);
  EXPECT_EQ(Positions(*page), (std::vector<std::uint64_t>{5, 6, 7}));
  auto stream = (*snap)->ReadStream("s-1", StreamVersion(1), 10);
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(Positions(*stream), (std::vector<std::uint64_t>{1, 4, 7}));
  EXPECT_EQ(*(*snap)->GetStreamVersion("s-1"), StreamVersion(3));
  EXPECT_EQ((*all)[6].hash, (*store_->ReadAll(Position(7), 1))[0].hash);
  const EventData e = Event("refused", 0);
  EXPECT_EQ((*snap)->Append("s-9", ExpectedVersion::Any(), std::span(&e, 1)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LogViews, ASnapshotToATimeEndsAtTheLastEventRecordedByThen) {
  auto snap = OpenLogSnapshot({dir_.path(), {.time = 4500}});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->Head(), Position(4));
  auto before = OpenLogSnapshot({dir_.path(), {.time = 10}});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)->Head(), Position(0));
  EXPECT_TRUE((*(*before)->ReadAll(Position(1), 10)).empty());
}

TEST_F(LogViews, ASnapshotPastTheEndIsRefusedNamingTheEnd) {
  auto snap = OpenLogSnapshot({dir_.path(), {.position = Position(11)}});
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(snap.status().message().find("(10)"), std::string::npos) << snap.status().message();
}

TEST_F(LogViews, ASnapshotOfADamagedLogFailsNamingWhere) {
  store_.reset();
  auto files = log::ListSegments(dir_.path());
  ASSERT_TRUE(files.ok());
  const auto& first = files->front().path;
  const int fd = ::open(first.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, 100), 1);
  byte = static_cast<char>(byte ^ 0x40);
  ASSERT_EQ(::pwrite(fd, &byte, 1, 100), 1);
  ::close(fd);
  auto snap = OpenLogSnapshot({dir_.path(), {}});
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), StatusCode::kCorruption);
  EXPECT_NE(snap.status().message().find(first.filename().string()), std::string::npos) << snap.status().message();
}

TEST_F(LogViews, APrefixOfAStoreNeverShowsWhatCameAfterItsPoint) {
  auto prefix = OpenLogPrefix(*store_, {.position = Position(5)});
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  Append(11);
  EXPECT_EQ((*prefix)->Head(), Position(5));
  EXPECT_EQ(Positions(*(*prefix)->ReadAll(Position(1), 100)), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Positions(*(*prefix)->ReadAll(Position(4), 100)), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_TRUE((*(*prefix)->ReadAll(Position(6), 100)).empty());
  EXPECT_EQ(Positions(*(*prefix)->ReadStream("s-1", StreamVersion(1), 10)), (std::vector<std::uint64_t>{1, 4}));
  EXPECT_EQ(*(*prefix)->GetStreamVersion("s-1"), StreamVersion(2));
  auto by_time = OpenLogPrefix(*store_, {.time = 7999});
  ASSERT_TRUE(by_time.ok());
  EXPECT_EQ((*by_time)->Head(), Position(7));
  auto past_end = OpenLogPrefix(*store_, {.position = Position(99)});
  EXPECT_EQ(past_end.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cqrs
