// Runs the real adsctl binary against real data directories.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "app/common/data_dir.h"
#include "cqrs/core/crc32c.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::app {
namespace {

struct CommandRun {
  int exit_code;
  std::string out;
};

CommandRun Adsctl(const std::string& args) {
  const std::string cmd = std::string(ADSCTL) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string MakeData(const cqrs::testing::TempDir& dir, int events) {
  auto store = cqrs::OpenEmbeddedEventStore({LogDir(dir.path())});
  EXPECT_TRUE(store.ok());
  for (int i = 0; i < events; ++i) {
    cqrs::EventData e;
    e.event_id = cqrs::Uuid::V7();
    e.type = "Happened";
    e.payload = "{\"n\":" + std::to_string(i) + "}";
    EXPECT_TRUE((*store)->Append("s", cqrs::ExpectedVersion::Any(), std::span(&e, 1)).ok());
  }
  return dir.path().string();
}

TEST(Adsctl, VerifyPrintsCountAndHeadHashOfAnIntactLog) {
  cqrs::testing::TempDir dir;
  const std::string data = MakeData(dir, 5);
  CommandRun r = Adsctl("verify --data-dir " + data);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("records:   5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("intact"), std::string::npos);
  CommandRun j = Adsctl("verify --json --data-dir " + data);
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_NE(j.out.find("\"records\":5"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"problem\":null"), std::string::npos);
}

TEST(Adsctl, VerifyNamesAnEditedRecordEvenWithARecomputedCrc) {
  cqrs::testing::TempDir dir;
  const std::string data = MakeData(dir, 5);
  const auto seg = cqrs::log::testing::SegmentsOf(LogDir(dir.path())).front();
  std::string bytes = cqrs::log::testing::ReadAllBytes(seg);
  const auto rec = cqrs::log::testing::RecordsIn(seg)[2];  // position 3
  namespace format = cqrs::log::format;
  const std::uint64_t body = rec.offset + format::kFrameBytes;
  const std::uint64_t body_len = rec.size - format::kFrameBytes;
  bytes[body + body_len - format::kHashBytes - 2] ^= 0x01;  // inside the payload
  format::Store<std::uint32_t>(bytes.data() + rec.offset + 4,
                               cqrs::crc32c::Value(bytes.data() + body, body_len));
  cqrs::log::testing::WriteAllBytes(seg, bytes);
  CommandRun r = Adsctl("verify --data-dir " + data);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("DAMAGED:   position 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hash chain"), std::string::npos) << r.out;
}

TEST(Adsctl, VerifyWithoutALogIsAUsageError) {
  cqrs::testing::TempDir dir;
  EXPECT_EQ(Adsctl("verify --data-dir " + dir.path().string()).exit_code, 2);
  EXPECT_EQ(Adsctl("no-such-command").exit_code, 2);
}

}  // namespace
}  // namespace adsd::app
