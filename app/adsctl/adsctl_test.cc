// Runs the real adsctl binary against real data directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "ads/read/read_model.h"
#include "ads/validation_worker.h"
#include "app/adsctl/testing/run_adsctl.h"
#include "app/common/data_dir.h"
#include "cqrs/core/crc32c.h"
#include "cqrs/core/sha256.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log_test_util.h"
#include "cqrs/projection/projection_runner.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/log_prefix_store.h"
#include "http/auth.h"

namespace adsd::app {
namespace {

using testing::Adsctl;
using testing::CommandRun;

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
  format::Store<std::uint32_t>(bytes.data() + rec.offset + 4, cqrs::crc32c::Value(bytes.data() + body, body_len));
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

// A mistyped command is named (CLI11 alone said "A subcommand is required"); a data directory
// without a log is refused by rebuild and repair as by verify, instead of being created (with an
// empty log, "rebuilt from 0 events" or "nothing to repair", exit 0).
TEST(Adsctl, MistypedCommandsAndMissingDataDirectoriesAreUsageErrors) {
  cqrs::testing::TempDir dir;
  for (const std::string bad : {"verfy", "keys ad", "bench nope"}) {
    CommandRun r = Adsctl(bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("unknown command '" + bad.substr(bad.rfind(' ') + 1) + "'"), std::string::npos)
        << bad << ": " << r.out;
  }
  const std::filesystem::path missing = dir.path() / "no-such-dir";
  for (const std::string command : {"rebuild", "repair"}) {
    CommandRun r = Adsctl(command + " --data-dir " + missing.string());
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.out;
    EXPECT_NE(r.out.find("no log at " + (missing / "log").string()), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(missing)) << command << " created the data directory";
  }
  // An online rebuild without a token was sent, and answered 401 (exit 1); a token without --url ignored.
  for (const std::string args : {"rebuild --url http://127.0.0.1:1", "rebuild --token t --data-dir /nonexistent"}) {
    CommandRun r = Adsctl(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find("--url and --token go together"), std::string::npos) << args << ": " << r.out;
  }
}

// Submits `n` ads (every third one bad), decides them, and builds read.db incrementally.
void MakeAdsData(const cqrs::testing::TempDir& dir, int n) {
  auto store = cqrs::OpenEmbeddedEventStore({LogDir(dir.path())});
  ASSERT_TRUE(store.ok());
  auto offsets = cqrs::log::ConsumerOffsets::Open(OffsetsDir(dir.path()));
  ads::ValidationWorker worker(**store, **offsets, ads::RuleEngine::Defaults());
  ads::AdsReadModel model;
  auto db = cqrs::sql::Database::Open(ReadModelPath(dir.path()));
  ASSERT_TRUE(db.ok());
  cqrs::projection::ProjectionRunner runner(**store, std::move(*db), model);
  ASSERT_TRUE(runner.Start().ok());
  for (int i = 0; i < n; ++i) {
    ads::ParsedAd ad =
        ads::ParseAd(std::string(R"({"title":")") + (i % 3 ? "Boots " : "GUARANTEED boots ") + std::to_string(i) +
                     R"(","landing_url":"https://shop.example.com","category":"apparel",)"
                     R"("bid_cents":100,"currency":"EUR","countries":["FR"]})");
    ASSERT_TRUE(ad.ok());
    const cqrs::Uuid id = cqrs::Uuid::V7();
    cqrs::EventData e;
    e.event_id = cqrs::Uuid::V7();
    e.type = std::string(ads::events::kSubmitted);
    e.payload = ads::events::ContentPayload("acme", ad.ad);
    ASSERT_TRUE((*store)->Append(ads::events::StreamOf(id), cqrs::ExpectedVersion::NoStream(), std::span(&e, 1)).ok());
    auto recorded = (*store)->ReadStream(ads::events::StreamOf(id), cqrs::StreamVersion(1), 1);
    ASSERT_TRUE(worker.Decide(recorded->front()).ok());
  }
  ASSERT_TRUE(runner.WaitFor((*store)->Head(), std::chrono::steady_clock::now() + std::chrono::seconds(30)));
}

std::string Dump(const std::filesystem::path& db) {
  auto conn = cqrs::sql::Database::Open(db);
  auto q = (*conn)->Prepare(
      "SELECT ad_id, retailer, status, ad_json, reasons_json, version, position, created_us, "
      "updated_us, decided_us, decided_day FROM ads ORDER BY ad_id");
  std::string out;
  while (*q->Step()) {
    for (int c = 0; c < 11; ++c) out += std::string(q->Text(c)) + "|";
    out += "\n";
  }
  return out;
}

TEST(Adsctl, RebuiltReadModelEqualsTheIncrementalOne) {
  cqrs::testing::TempDir dir;
  MakeAdsData(dir, 30);
  const std::string before = Dump(ReadModelPath(dir.path()));
  ASSERT_NE(before.find("|rejected|"), std::string::npos);
  CommandRun r = Adsctl("rebuild --data-dir " + dir.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("rebuilt ads from 60 events"), std::string::npos) << r.out;
  EXPECT_EQ(Dump(ReadModelPath(dir.path())), before);
}

TEST(Adsctl, RebuildWritesTheReadModelWhereReadDbSays) {
  cqrs::testing::TempDir dir;
  MakeAdsData(dir, 10);
  const std::string before = Dump(ReadModelPath(dir.path()));
  const auto elsewhere = dir.path() / "elsewhere.db";
  CommandRun r = Adsctl("rebuild --data-dir " + dir.path().string() + " --read-db sqlite:" + elsewhere.string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Dump(elsewhere), before);
  EXPECT_EQ(Adsctl("rebuild --data-dir " + dir.path().string() + " --read-db postgresql://h/db").exit_code, 2);
}

TEST(Adsctl, RebuildRefusesALogThatIsInUse) {
  cqrs::testing::TempDir dir;
  MakeAdsData(dir, 1);
  auto store = cqrs::OpenEmbeddedEventStore({LogDir(dir.path())});
  ASSERT_TRUE(store.ok());
  CommandRun r = Adsctl("rebuild --data-dir " + dir.path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("rebuild online"), std::string::npos) << r.out;
}

TEST(Adsctl, APastReadModelIsTheLogUpToItsPointBuiltWhileTheLogIsInUse) {
  cqrs::testing::TempDir dir;
  MakeAdsData(dir, 10);                                             // 20 events: each ad and its verdict
  auto store = cqrs::OpenEmbeddedEventStore({LogDir(dir.path())});  // holds the log, as adsd would
  ASSERT_TRUE(store.ok());
  // What the read model held when the log ended at position 7: projected from a prefix view.
  const auto expected = dir.path() / "expected.db";
  {
    auto prefix = cqrs::OpenLogPrefix(**store, {.position = cqrs::Position(7)});
    ASSERT_TRUE(prefix.ok());
    auto db = cqrs::sql::Database::Open(expected);
    ads::AdsReadModel model;
    cqrs::projection::ProjectionRunner runner(**prefix, std::move(*db), model);
    ASSERT_TRUE(runner.CatchUp(cqrs::Position(7)).ok());
  }
  const std::string data = dir.path().string(), past = (dir.path() / "past.db").string();
  CommandRun r = Adsctl("rebuild --data-dir " + data + " --to-position 7 --into sqlite:" + past);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("as it stood at position 7 (7 events)"), std::string::npos) << r.out;
  const std::string dump = Dump(past);
  EXPECT_EQ(dump, Dump(expected));
  EXPECT_EQ(std::count(dump.begin(), dump.end(), '\n'), 4) << dump;  // ads 1-4 (the 4th not decided yet)
  EXPECT_EQ(Adsctl("report --read-db sqlite:" + past + " --retailer acme --date 2026-01-01").exit_code, 0);
  // Never over an existing file; never past the log's end; a point needs --into and --into a point.
  CommandRun again = Adsctl("rebuild --data-dir " + data + " --to-position 7 --into sqlite:" + past);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.out.find("exists"), std::string::npos) << again.out;
  CommandRun beyond = Adsctl("rebuild --data-dir " + data + " --to-position 21 --into sqlite:" + past + "2");
  EXPECT_EQ(beyond.exit_code, 2);
  EXPECT_NE(beyond.out.find("past the log's end (20)"), std::string::npos) << beyond.out;
  EXPECT_FALSE(std::filesystem::exists(past + "2"));
  EXPECT_EQ(Adsctl("rebuild --data-dir " + data + " --to-position 7").exit_code, 2);
  EXPECT_EQ(Adsctl("rebuild --data-dir " + data + " --into sqlite:" + past + "3").exit_code, 2);
  EXPECT_EQ(Adsctl("rebuild --data-dir " + data + " --to-time yesterday --into sqlite:" + past + "3").exit_code, 2);
  // A time before the first event: the read model as it stood before anything, empty.
  CommandRun before =
      Adsctl("rebuild --data-dir " + data + " --to-time 2000-01-01T00:00:00Z --into sqlite:" + past + "4");
  EXPECT_EQ(before.exit_code, 0) << before.out;
  EXPECT_EQ(Dump(past + "4"), "");
}

TEST(Adsctl, ReportWritesTheDailyCsv) {
  cqrs::testing::TempDir dir;
  MakeAdsData(dir, 3);
  char day[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
  CommandRun r = Adsctl("report --data-dir " + dir.path().string() + " --retailer acme --date " + day);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("ad_id,status,decided_at,title,landing_url,reasons\r\n", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4);
  EXPECT_NE(r.out.find("misleading_claim"), std::string::npos);
  EXPECT_EQ(Adsctl("report --data-dir " + dir.path().string() + " --retailer acme --date 2026-02-30").exit_code, 2);
}

std::string FirstLine(const std::string& out) { return out.substr(0, out.find('\n')); }

std::string FileText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Adsctl, KeysAddListRotateRevokeShowTokensOnceAndStoreOnlyHashes) {
  cqrs::testing::TempDir dir;
  const std::string file = (dir / "keys.toml").string();
  CommandRun added = Adsctl("keys add --file " + file + " --retailer acme --rate 5 --burst 10");
  ASSERT_EQ(added.exit_code, 0) << added.out;
  const std::string token = FirstLine(added.out);
  ASSERT_TRUE(token.starts_with("acme-")) << added.out;
  EXPECT_NE(added.out.find("shown only now"), std::string::npos);
  ASSERT_EQ(Adsctl("keys add --file " + file + " --admin").exit_code, 0);
  EXPECT_EQ(FileText(file).find(token), std::string::npos) << "only the hash is stored";
  EXPECT_NE(FileText(file).find(http::ApiKeys::HashText(token)), std::string::npos);

  CommandRun list = Adsctl("keys list --file " + file);
  ASSERT_EQ(list.exit_code, 0) << list.out;
  for (const char* part : {"acme", "admin", "unlimited", " 5 ", " 10 "}) {
    EXPECT_NE(list.out.find(part), std::string::npos) << part << " in " << list.out;
  }
  EXPECT_EQ(list.out.find(token), std::string::npos);

  CommandRun rotated = Adsctl("keys rotate --file " + file + " --id acme");
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out;
  const std::string fresh = FirstLine(rotated.out);
  EXPECT_NE(fresh, token);
  auto keys = http::ApiKeys::Load(file);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->keys()[0].hash, cqrs::Sha256(fresh));
  EXPECT_EQ(keys->keys()[0].limit.per_second, 5) << "rotation keeps the limits";

  ASSERT_EQ(Adsctl("keys revoke --file " + file + " --id acme").exit_code, 0);
  EXPECT_EQ(Adsctl("keys list --file " + file).out.find("acme"), std::string::npos);
  EXPECT_NE(Adsctl("keys revoke --file " + file + " --id acme").exit_code, 0);
  EXPECT_EQ(Adsctl("keys add --file " + file + " --retailer a --admin").exit_code, 2);
}

TEST(Adsctl, KeysAddRefusesARateOrBurstGivenAsZero) {
  // "--rate must be > 0": an explicit 0 is refused like a negative one, never read as "not given"
  // (which made a key with the default 500 per second).
  cqrs::testing::TempDir dir;
  const std::string file = (dir / "keys.toml").string();
  for (const char* bad : {"--rate 0", "--rate -1", "--burst 0", "--burst 0.5", "--rate 0 --burst 10"}) {
    CommandRun r = Adsctl("keys add --file " + file + " --retailer acme " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("--rate must be > 0"), std::string::npos) << bad << ": " << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(file)) << "nothing is written for a refused key";
  CommandRun ok = Adsctl("keys add --file " + file + " --retailer acme --rate 0.5 --burst 1");
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  auto keys = http::ApiKeys::Load(file);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->keys()[0].limit.per_second, 0.5);
  EXPECT_EQ(keys->keys()[0].limit.burst, 1);
}

// Every keys failure is a usage or I/O error (exit 2, as adsctl's README says), not 1 ("damage
// found"): a missing or malformed file, an id that does not exist or already does.
TEST(Adsctl, KeysErrorsExit2) {
  cqrs::testing::TempDir dir;
  const std::string file = (dir.path() / "keys.toml").string();
  const std::string missing = (dir.path() / "missing.toml").string();
  ASSERT_EQ(Adsctl("keys add --file " + file + " --retailer acme --id acme-web").exit_code, 0);
  {
    std::ofstream bad(dir.path() / "bad.toml");
    bad << "[[key]\n";
  }
  for (const std::string& args :
       {"keys list --file " + missing, "keys migrate --file " + missing, "keys rotate --file " + missing + " --id a",
        "keys list --file " + (dir.path() / "bad.toml").string(), "keys rotate --file " + file + " --id nosuch",
        "keys revoke --file " + file + " --id nosuch", "keys add --file " + file + " --retailer acme --id acme-web"}) {
    CommandRun r = Adsctl(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find("adsctl keys"), std::string::npos) << args << ": " << r.out;
  }
}

TEST(Adsctl, KeysMigrateReplacesPlaintextTokens) {
  cqrs::testing::TempDir dir;
  const std::string file = (dir / "keys.toml").string();
  {
    std::ofstream out(file);
    out << "[[key]]\ntoken = \"acme-0123456789abcdef\"\nretailer = \"acme\"\n";
  }
  CommandRun r = Adsctl("keys migrate --file " + file);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("migrated"), std::string::npos) << r.out;
  EXPECT_EQ(FileText(file).find("acme-0123456789abcdef"), std::string::npos);
  EXPECT_NE(Adsctl("keys migrate --file " + file).out.find("already holds hashes"), std::string::npos);
}

TEST(Adsctl, RepairSetsBackConsumersAheadOfTheLog) {
  cqrs::testing::TempDir dir;
  const std::string data = MakeData(dir, 5);
  {
    auto db = cqrs::sql::Database::Open(ReadModelPath(dir.path()));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TABLE projection_checkpoints(projection TEXT PRIMARY KEY, position INTEGER);"
                           "INSERT INTO projection_checkpoints VALUES ('ads', 7)")
                    .ok());
    auto offsets = cqrs::log::ConsumerOffsets::Open(OffsetsDir(dir.path()));
    ASSERT_TRUE((*offsets)->Commit("validator", cqrs::Position(7)).ok());
  }
  CommandRun r = Adsctl("repair --data-dir " + data);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("read model"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("was at position 7, past the log head 5"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(ReadModelPath(dir.path())));
  EXPECT_EQ((*cqrs::log::ConsumerOffsets::Open(OffsetsDir(dir.path())))->Load("validator"), cqrs::Position(5));
  CommandRun again = Adsctl("repair --data-dir " + data);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("nothing to repair"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace adsd::app
