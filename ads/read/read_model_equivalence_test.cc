// The two ads read models — SQLite (a process's own) and PostgreSQL (shared) — projected from the
// same log answer every query of the Read API alike: each ad, every listing page by page (with
// ties in submission time, so the order of ids counts), every daily report, the parked streams.
#include <gtest/gtest.h>

#include <random>

#include "ads/events.h"
#include "ads/read/pg_ad_queries.h"
#include "ads/read/pg_read_model.h"
#include "ads/read/read_model.h"
#include "ads/read/sqlite_ad_queries.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/projection/projection_runner.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::ads {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kDay = 86'400'000'000;
constexpr std::int64_t kStart = 1'795'000'000'000'000;  // 2026-11-18, UTC

class ReadModelEquivalence : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = cqrs::OpenEmbeddedEventStore({dir_.path() / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  void Append(const std::string& stream, std::string_view type, std::string payload, std::int64_t at_us) {
    cqrs::EventData e;
    e.event_id = cqrs::Uuid::V7();
    e.type = std::string(type);
    e.payload = std::move(payload);
    e.timestamp_us = at_us;
    auto r = store_->Append(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A log with every kind of event, several retailers, two days, equal submission times.
  void WriteLog() {
    std::mt19937 rng(7);
    for (int i = 0; i < 240; ++i) {
      const std::string retailer = i % 3 == 0 ? "globex" : "acme";
      const std::string stream = events::StreamOf(cqrs::Uuid::V7());
      // Groups of four ads share a submission time: their order is their ids'.
      const std::int64_t at = kStart + (i / 4) * 1'000'000 + (i % 2) * kDay;
      Append(stream, events::kSubmitted,
             R"({"retailer":")" + retailer + R"(","ad":{"title":"Boots \"no.\" )" + std::to_string(i) +
                 R"(, é","landing_url":"https://shop.example.com/b?x=1,2","bid_cents":)" + std::to_string(100 + i) +
                 "}}",
             at);
      switch (rng() % 5) {
        case 0:
          break;  // stays pending
        case 1:
          Append(stream, events::kApproved, R"({"reasons":[]})", at + 5'000);
          break;
        case 2:
          Append(stream, events::kRejected,
                 R"({"reasons":[{"code":"policy","field":"title","message":"no \"guaranteed\", please"}]})",
                 at + 7'000);
          break;
        case 3:
          Append(stream, events::kChanged,
                 R"({"retailer":")" + retailer + R"(","ad":{"title":"Changed )" + std::to_string(i) + R"("}})",
                 at + 9'000);
          Append(stream, events::kApproved, R"({"reasons":[]})", at + 12'000);
          break;
        case 4:
          Append(stream, events::kApproved, R"({"reasons":[]})", at + 3'000);
          Append(stream, events::kWithdrawn, R"({"retailer":")" + retailer + R"("})", at + 20'000);
          break;
      }
    }
    // An event neither model can read: both park its stream, and the events after it.
    const std::string broken = events::StreamOf(cqrs::Uuid::V7());
    Append(broken, events::kSubmitted, R"({"retailer":"acme","ad":{"title":"ok"}})", kStart);
    Append(broken, events::kRejected, R"({"reasons":"not an array"})", kStart + 1);
    Append(broken, events::kWithdrawn, R"({"retailer":"acme"})", kStart + 2);
  }

  static std::vector<std::string> Pages(const AdQueries& q, const std::string& retailer,
                                        const std::optional<std::string>& status) {
    std::vector<std::string> out;
    std::optional<AdQueries::Cursor> after;
    while (true) {
      auto rows = q.List(retailer, status, 7, after);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok() || rows->empty()) return out;
      for (const AdRow& r : *rows) out.push_back(AdRowJson(r));
      after = ParseCursor(CursorOf(rows->back()));
    }
  }

  cqrs::testing::TempDir dir_;
  std::unique_ptr<cqrs::EventStore> store_;
};

TEST_F(ReadModelEquivalence, SqliteAndPostgresAnswerEveryQueryAlike) {
  WriteLog();
  const cqrs::Position head = store_->Head();

  AdsReadModel sqlite_model;
  auto db = cqrs::sql::Database::Open(dir_.path() / "read.db");
  ASSERT_TRUE(db.ok());
  cqrs::projection::ProjectionRunner sqlite_runner(*store_, std::move(*db), sqlite_model, {.retry_backoff = 1ms});
  ASSERT_TRUE(sqlite_runner.CatchUp(head).ok());

  const std::string url = cqrs::testing::FreshPostgresDatabase();
  AdsPgReadModel pg_model;
  auto pg_runner = cqrs::projection::PgProjectionRunner::Start(*store_, pg_model, {.url = url, .retry_backoff = 1ms});
  ASSERT_TRUE(pg_runner.ok()) << pg_runner.status().ToString();
  ASSERT_TRUE((*pg_runner)->WaitFor(head, std::chrono::steady_clock::now() + 30s));

  SqliteAdQueries sqlite(dir_.path() / "read.db");
  PgAdQueries pg(url, 2);
  for (const char* retailer : {"acme", "globex", "nobody"}) {
    for (const std::optional<std::string>& status :
         {std::optional<std::string>(), std::optional<std::string>("pending"), std::optional<std::string>("approved"),
          std::optional<std::string>("rejected"), std::optional<std::string>("withdrawn")}) {
      const auto expected = Pages(sqlite, retailer, status);
      EXPECT_EQ(Pages(pg, retailer, status), expected) << retailer << " " << status.value_or("any");
      if (std::string_view(retailer) == "acme" && !status) {
        ASSERT_GT(expected.size(), 100u);
        for (const std::string& row : expected) {
          const std::string id = row.substr(row.find("\"ad_id\":\"") + 9, 36);
          auto a = sqlite.Get(id);
          auto b = pg.Get(id);
          ASSERT_TRUE(a.ok() && b.ok() && *a && *b) << id;
          EXPECT_EQ(AdRowJson(**b), AdRowJson(**a));
        }
      }
    }
    for (const char* day : {"2026-11-18", "2026-11-19", "2026-11-20"}) {
      auto a = sqlite.DecidedOn(retailer, day);
      auto b = pg.DecidedOn(retailer, day);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(DailyReportCsv(*b), DailyReportCsv(*a)) << retailer << " " << day;
    }
  }
  EXPECT_FALSE(*pg.Get(cqrs::Uuid::V7().ToString()));

  auto parked_a = sqlite_runner.ListParked();
  auto parked_b = (*pg_runner)->ListParked();
  ASSERT_TRUE(parked_a.ok() && parked_b.ok());
  ASSERT_EQ(parked_a->size(), 1u);
  ASSERT_EQ(parked_b->size(), 1u);
  EXPECT_EQ((*parked_b)[0].stream, (*parked_a)[0].stream);
  EXPECT_EQ((*parked_b)[0].first_position, (*parked_a)[0].first_position);
  EXPECT_EQ((*parked_b)[0].events, 2);
  EXPECT_EQ((*parked_a)[0].events, 2);
}

}  // namespace
}  // namespace adsd::ads
