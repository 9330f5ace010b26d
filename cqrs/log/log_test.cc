#include "cqrs/log/log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::TempDir;
using testing::AppendRange;
using testing::ExpectRecords;
using testing::OpenOrDie;

struct Owned {
  Position position;
  Uuid event_id, correlation_id, causation_id;
  std::string stream, type, metadata, payload;
  StreamVersion version;
  std::uint32_t schema_version;
  TimestampUs timestamp_us;
  Sha256Digest hash;
};

std::vector<Owned> ReadAll(const Log& log) {
  std::vector<Owned> out;
  EXPECT_TRUE(log.Scan(Position(1), ~std::size_t{0},
                       [&](const RecordView& v) {
                         out.push_back({v.position, v.event_id, v.correlation_id, v.causation_id, std::string(v.stream),
                                        std::string(v.type), std::string(v.metadata), std::string(v.payload), v.version,
                                        v.schema_version, v.timestamp_us, v.hash});
                         return true;
                       })
                  .ok());
  return out;
}

TEST(Log, EveryEnvelopeFieldRoundTripsAndSurvivesReopen) {
  TempDir dir;
  const std::string binary("pay\0load\xff", 9);
  RecordDraft d;
  d.event_id = Uuid::V7();
  d.stream = "ad-1";
  d.version = StreamVersion(3);
  d.type = "AdSubmitted";
  d.schema_version = 7;
  d.timestamp_us = -12345;
  d.correlation_id = Uuid::V7();
  d.causation_id = Uuid::V7();
  d.metadata = "{\"m\":1}";
  d.payload = binary;
  RecordDraft empty = d;
  empty.event_id = Uuid::V7();
  empty.metadata = "";
  empty.payload = "";
  std::vector<RecordDraft> drafts{d, empty};
  Sha256Digest head;
  {
    auto log = OpenOrDie(dir.path());
    auto r = log->Stage(drafts);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first, Position(1));
    EXPECT_EQ(r->last, Position(2));
    ASSERT_TRUE(log->AwaitDurable(r->last).ok());
    head = log->head_hash();
  }
  for (int round = 0; round < 2; ++round) {
    auto log = OpenOrDie(dir.path());
    auto all = ReadAll(*log);
    ASSERT_EQ(all.size(), 2u);
    const Owned& a = all[0];
    EXPECT_EQ(a.position, Position(1));
    EXPECT_EQ(a.event_id, d.event_id);
    EXPECT_EQ(a.stream, "ad-1");
    EXPECT_EQ(a.version, StreamVersion(3));
    EXPECT_EQ(a.type, "AdSubmitted");
    EXPECT_EQ(a.schema_version, 7u);
    EXPECT_EQ(a.timestamp_us, -12345);
    EXPECT_EQ(a.correlation_id, d.correlation_id);
    EXPECT_EQ(a.causation_id, d.causation_id);
    EXPECT_EQ(a.metadata, "{\"m\":1}");
    EXPECT_EQ(a.payload, binary);
    EXPECT_EQ(all[1].payload, "");
    EXPECT_EQ(all[1].metadata, "");
    EXPECT_EQ(all[1].hash, head);
    EXPECT_EQ(log->head_hash(), head);
    EXPECT_EQ(log->durable_head(), Position(2));
  }
}

TEST(Log, RecordsOverTheLimitsAreRejectedAndNothingIsWritten) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  RecordDraft ok;
  ok.event_id = Uuid::V7();
  ok.stream = "s";
  ok.type = "T";
  EXPECT_EQ(log->Stage({}).status().code(), StatusCode::kInvalidArgument);
  const std::string long_stream(kMaxStreamBytes + 1, 's');
  const std::string long_type(kMaxTypeBytes + 1, 't');
  const std::string huge(kMaxRecordBytes, 'x');
  for (int which = 0; which < 4; ++which) {
    RecordDraft bad = ok;
    if (which == 0) bad.stream = "";
    if (which == 1) bad.stream = long_stream;
    if (which == 2) bad.type = long_type;
    if (which == 3) bad.payload = huge;
    std::vector<RecordDraft> batch{ok, bad};  // a bad record fails the whole batch
    EXPECT_EQ(log->Stage(batch).status().code(), StatusCode::kInvalidArgument) << which;
  }
  EXPECT_EQ(log->staged_head(), Position(0));
  EXPECT_EQ(log->durable_head(), Position(0));
}

TEST(Log, ScanFindsEveryPositionAcrossManySegments) {
  TempDir dir;
  constexpr std::uint64_t kCount = 600;
  for (bool preallocate : {true, false}) {
    TempDir d2;
    {
      auto log = OpenOrDie(d2.path(), 8 << 10, preallocate);
      AppendRange(*log, 1, kCount, 100);
      EXPECT_GT(testing::SegmentsOf(d2.path()).size(), 5u);
      for (std::uint64_t p = 1; p <= kCount; p += 13) {
        std::uint64_t got = 0;
        ASSERT_TRUE(log->Scan(Position(p), 3,
                              [&](const RecordView& v) {
                                EXPECT_EQ(v.position.value(), p + got);
                                EXPECT_EQ(v.payload, testing::PayloadFor(p + got, 100));
                                ++got;
                                return true;
                              })
                        .ok());
        EXPECT_EQ(got, std::min<std::uint64_t>(3, kCount - p + 1));
      }
    }
    auto log = OpenOrDie(d2.path(), 8 << 10, preallocate);
    EXPECT_EQ(log->recovery().records, kCount);
    EXPECT_EQ(log->recovery().truncated_bytes, 0u);
    ExpectRecords(*log, kCount, 100);
    AppendRange(*log, kCount + 1, kCount + 50, 100);
    ExpectRecords(*log, kCount + 50, 100);
  }
}

TEST(Log, ScanStopsWhenTheVisitorSaysSoAndPastTheHeadSeesNothing) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  AppendRange(*log, 1, 10);
  int seen = 0;
  ASSERT_TRUE(log->Scan(Position(1), 100, [&](const RecordView&) { return ++seen < 4; }).ok());
  EXPECT_EQ(seen, 4);
  seen = 0;
  ASSERT_TRUE(log->Scan(Position(11), 100, [&](const RecordView&) { return ++seen > 0; }).ok());
  EXPECT_EQ(seen, 0);
}

TEST(Log, ConcurrentAppendersGetGaplessUniquePositions) {
  TempDir dir;
  auto log = OpenOrDie(dir.path(), 64 << 10);
  constexpr int kThreads = 8, kPerThread = 300;
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> async_done{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "t" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string payload = stream + ":" + std::to_string(i);
        RecordDraft d;
        d.event_id = Uuid::V7();
        d.stream = stream;
        d.type = "T";
        d.payload = payload;
        auto r = log->Stage(std::span(&d, 1));
        ASSERT_TRUE(r.ok());
        if (i % 2 == 0) {
          ASSERT_TRUE(log->AwaitDurable(r->last).ok());
        } else {
          log->OnDurable(r->last, [&](const Status& st) {
            EXPECT_TRUE(st.ok());
            async_done.fetch_add(1);
          });
        }
        got[t].push_back(r->first.value());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->WaitForDurable(Position(kThreads * kPerThread), std::chrono::steady_clock::now() + 30s));
  std::set<std::uint64_t> all;
  for (auto& v : got) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread));
  // Each thread's records are readable at the positions it was given, with its payloads.
  std::map<std::string, int> next;
  ASSERT_TRUE(log->Scan(Position(1), ~std::size_t{0},
                        [&](const RecordView& v) {
                          const std::string s(v.stream);
                          EXPECT_EQ(v.payload, s + ":" + std::to_string(next[s]++));
                          return true;
                        })
                  .ok());
  log.reset();  // the destructor delivers every pending acknowledgement
  EXPECT_EQ(async_done.load(), kThreads * kPerThread / 2);
}

TEST(Log, TailingReaderWakesWhenNewRecordsAreDurable) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::atomic<bool> woke{false};
  std::thread reader([&] { woke = log->WaitForDurable(Position(1), std::chrono::steady_clock::now() + 30s); });
  AppendRange(*log, 1, 1);
  reader.join();
  EXPECT_TRUE(woke.load());
  EXPECT_FALSE(log->WaitForDurable(Position(2), std::chrono::steady_clock::now() + 10ms));
}

TEST(Log, ASecondProcessCannotOpenAnOpenLog) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  AppendRange(*log, 1, 3);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    LogOptions o;
    o.dir = dir.path();
    auto second = Log::Open(o);
    _exit(!second.ok() && second.status().code() == StatusCode::kUnavailable ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  log.reset();
  EXPECT_NE(OpenOrDie(dir.path()), nullptr) << "the lock goes with the log";
}

TEST(Log, HeadHashMatchesVerify) {
  TempDir dir;
  Sha256Digest head;
  {
    auto log = OpenOrDie(dir.path(), 16 << 10);
    AppendRange(*log, 1, 200);
    head = log->head_hash();
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->records, 200u);
  EXPECT_EQ(report->head_hash, head);
  EXPECT_FALSE(report->problem.has_value());
}

// A write that fails for real: the child lowers its file-size limit so that write() returns
// EFBIG, then checks what the log acknowledges. Exit code 0 = every expectation held.
int PoisonChild(const std::filesystem::path& dir) {
  signal(SIGXFSZ, SIG_IGN);
  LogOptions o;
  o.dir = dir;
  o.preallocate = false;
  auto log = Log::Open(o);
  if (!log.ok()) return 10;
  struct rlimit lim {
    64 << 10, 64 << 10
  };
  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 11;
  const std::string payload(1000, 'x');
  RecordDraft d;
  d.stream = "s";
  d.type = "T";
  d.payload = payload;
  Position last_ok(0);
  Status failure;
  for (int i = 0; i < 1000 && failure.ok(); ++i) {
    d.event_id = Uuid::V7();
    auto r = (*log)->Stage(std::span(&d, 1));
    if (!r.ok()) return 12;
    Status st = (*log)->AwaitDurable(r->last);
    if (st.ok())
      last_ok = r->last;
    else
      failure = st;
  }
  if (failure.ok()) return 13;  // never failed
  if (failure.code() != StatusCode::kPoisoned) return 14;
  if ((*log)->writer_status().ok()) return 15;
  d.event_id = Uuid::V7();
  if ((*log)->Stage(std::span(&d, 1)).status().code() != StatusCode::kPoisoned) return 16;
  if ((*log)->durable_head() != last_ok) return 17;
  bool called = false;
  (*log)->OnDurable(last_ok.next(), [&](const Status& st) { called = !st.ok(); });
  if (!called) return 18;
  return 0;
}

TEST(Log, FailedWriteGoesPoisonedAndNothingLaterIsAcknowledged) {
  TempDir dir;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(PoisonChild(dir.path()));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Reopened without the limit, the log holds what was acknowledged and accepts appends again.
  auto log = OpenOrDie(dir.path());
  EXPECT_GT(log->durable_head().value(), 0u);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->problem.has_value());
}

}  // namespace
}  // namespace cqrs::log
