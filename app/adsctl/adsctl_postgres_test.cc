// adsctl against the distributed backends: `verify --store postgresql://…` on a real PostgreSQL
// event store (intact, then with a row changed behind its back), and `report --read-db
// postgresql://…` on a read model shared in PostgreSQL.
#include <gtest/gtest.h>

#include <ctime>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "ads/read/pg_read_model.h"
#include "ads/validation_worker.h"
#include "app/adsctl/testing/run_adsctl.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/projection/pg_projection.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::app {
namespace {

using testing::Adsctl;

TEST(AdsctlPostgres, VerifyNamesTheFirstRowChangedBehindTheStoresBack) {
  const std::string url = cqrs::testing::FreshPostgresDatabase();
  {
    auto store = cqrs::OpenPostgresEventStore({url});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 5; ++i) {
      cqrs::EventData e;
      e.event_id = cqrs::Uuid::V7();
      e.type = "Happened";
      e.payload = "{\"n\":" + std::to_string(i) + "}";
      ASSERT_TRUE((*store)->Append("s", cqrs::ExpectedVersion::Any(), std::span(&e, 1)).ok());
    }
  }
  auto intact = Adsctl("verify --store " + url);
  EXPECT_EQ(intact.exit_code, 0) << intact.out;
  EXPECT_NE(intact.out.find("records:   5"), std::string::npos) << intact.out;
  EXPECT_NE(intact.out.find("intact"), std::string::npos) << intact.out;

  auto conn = cqrs::pg::Connection::Open(url);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Exec("UPDATE events SET payload = '\\x7b7d' WHERE position = 3").ok());
  auto damaged = Adsctl("verify --store " + url);
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out;
  EXPECT_NE(damaged.out.find("DAMAGED:   position 3"), std::string::npos) << damaged.out;

  // Nothing to verify (the server does not answer) is not "damaged": exit status 2.
  EXPECT_EQ(Adsctl("verify --store postgresql://127.0.0.1:1/nothing").exit_code, 2);
}

TEST(AdsctlPostgres, ReportReadsTheReadModelSharedInPostgres) {
  const std::string url = cqrs::testing::FreshPostgresDatabase();
  auto store = cqrs::OpenPostgresEventStore({url});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  cqrs::testing::TempDir dir;
  auto offsets = cqrs::log::ConsumerOffsets::Open(dir.path() / "offsets");
  ASSERT_TRUE(offsets.ok());
  ads::ValidationWorker worker(**store, **offsets, ads::RuleEngine::Defaults());
  for (int i = 0; i < 3; ++i) {
    ads::ParsedAd ad =
        ads::ParseAd(std::string(R"({"title":")") + (i % 3 ? "Boots " : "GUARANTEED boots ") + std::to_string(i) +
                     R"(","landing_url":"https://shop.example.com","category":"apparel",)"
                     R"("bid_cents":100,"currency":"EUR","countries":["FR"]})");
    ASSERT_TRUE(ad.ok());
    const std::string stream = ads::events::StreamOf(cqrs::Uuid::V7());
    cqrs::EventData e;
    e.event_id = cqrs::Uuid::V7();
    e.type = std::string(ads::events::kSubmitted);
    e.payload = ads::events::ContentPayload("acme", ad.ad);
    ASSERT_TRUE((*store)->Append(stream, cqrs::ExpectedVersion::NoStream(), std::span(&e, 1)).ok());
    auto recorded = (*store)->ReadStream(stream, cqrs::StreamVersion(1), 1);
    ASSERT_TRUE(recorded.ok());
    ASSERT_TRUE(worker.Decide(recorded->front()).ok());
  }
  ads::AdsPgReadModel model;
  auto runner = cqrs::projection::PgProjectionRunner::Start(**store, model, {.url = url});
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  ASSERT_TRUE((*runner)->WaitFor((*store)->Head(), std::chrono::steady_clock::now() + std::chrono::seconds(30)));

  char day[16];
  const std::time_t now = std::time(nullptr);
  std::strftime(day, sizeof day, "%Y-%m-%d", std::gmtime(&now));
  auto r = Adsctl("report --read-db " + url + " --retailer acme --date " + day);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("ad_id,status,decided_at,title,landing_url,reasons\r\n", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;
  EXPECT_NE(r.out.find("misleading_claim"), std::string::npos) << r.out;
  // A server that does not answer is an error, not an empty report.
  EXPECT_EQ(
      Adsctl("report --read-db postgresql://127.0.0.1:1/nothing --retailer acme --date " + std::string(day)).exit_code,
      1);
}

}  // namespace
}  // namespace adsd::app
