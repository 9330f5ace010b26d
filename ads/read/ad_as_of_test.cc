// An ad as it stood at a past position, folded from its stream, is the row the SQLite read model
// held when it had applied the log up to that position — at every position, for every kind of
// event and for redelivered ones.
#include "ads/read/ad_as_of.h"

#include <gtest/gtest.h>

#include "ads/events.h"
#include "ads/read/read_model.h"
#include "ads/read/sqlite_ad_queries.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/projection/projection_runner.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/log_prefix_store.h"

namespace adsd::ads {
namespace {

constexpr std::int64_t kStart = 1'795'000'000'000'000;  // 2026-11-18, UTC

class AdAsOf : public ::testing::Test {
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
    ASSERT_TRUE(store_->Append(stream, cqrs::ExpectedVersion::Any(), std::span(&e, 1)).ok());
  }
  static std::string Submitted(const std::string& title) {
    return R"({"retailer":"acme","ad":{"title":")" + title + R"(","landing_url":"https://shop.example.com/"}})";
  }

  cqrs::testing::TempDir dir_;
  std::unique_ptr<cqrs::EventStore> store_;
};

void ExpectSameRow(const std::optional<AdRow>& folded, const std::optional<AdRow>& projected, std::uint64_t at) {
  ASSERT_EQ(folded.has_value(), projected.has_value()) << "at position " << at;
  if (!folded) return;
  EXPECT_EQ(AdRowJson(*folded), AdRowJson(*projected)) << "at position " << at;
}

TEST_F(AdAsOf, TheFoldedRowIsTheReadModelsRowAtEveryPosition) {
  const std::string a = events::StreamOf(cqrs::Uuid::V7()), b = events::StreamOf(cqrs::Uuid::V7());
  Append(a, events::kSubmitted, Submitted("Boots"), kStart);
  Append(b, events::kSubmitted, Submitted("Hats"), kStart + 1);
  Append(a, events::kRejected, R"({"reasons":[{"code":"policy","field":"title","message":"no"}]})", kStart + 2);
  Append(a, events::kChanged, Submitted("Better boots"), kStart + 3);
  Append(b, events::kApproved, R"({"reasons":[]})", kStart + 4);
  Append(a, events::kApproved, R"({"reasons":[]})", kStart + 5);
  Append(b, events::kWithdrawn, R"({"retailer":"acme"})", kStart + 6);

  // The read model of each prefix of the log, projected as the live one is.
  for (std::uint64_t p = 0; p <= store_->Head().value(); ++p) {
    auto prefix = cqrs::OpenLogPrefix(*store_, {.position = cqrs::Position(p)});
    ASSERT_TRUE(prefix.ok());
    const auto db_path = dir_.path() / ("read-" + std::to_string(p) + ".db");
    auto db = cqrs::sql::Database::Open(db_path);
    ASSERT_TRUE(db.ok());
    AdsReadModel model;
    cqrs::projection::ProjectionRunner runner(**prefix, std::move(*db), model, {});
    ASSERT_TRUE(runner.CatchUp(cqrs::Position(p)).ok());  // at 0: creates the tables only
    SqliteAdQueries queries(db_path);
    for (const std::string& stream : {a, b}) {
      auto history = store_->ReadStream(stream, cqrs::StreamVersion(1), 100);
      ASSERT_TRUE(history.ok());
      auto folded = AdRowAt(*history, PastPoint{.position = cqrs::Position(p)});
      ASSERT_TRUE(folded.ok());
      auto projected = queries.Get(events::AdIdOf(stream)->ToString());
      ASSERT_TRUE(projected.ok());
      ExpectSameRow(*folded, *projected, p);
    }
  }
}

TEST_F(AdAsOf, ATimeTakesEveryEventRecordedByThenAndNothingBeforeTheAdExisted) {
  const std::string a = events::StreamOf(cqrs::Uuid::V7());
  Append(a, events::kSubmitted, Submitted("Boots"), kStart);
  Append(a, events::kApproved, R"({"reasons":[]})", kStart + 1'000'000);
  Append(a, events::kWithdrawn, R"({"retailer":"acme"})", kStart + 2'000'000);
  auto history = store_->ReadStream(a, cqrs::StreamVersion(1), 100);
  ASSERT_TRUE(history.ok());
  auto before = AdRowAt(*history, PastPoint{.time = kStart - 1});
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  auto approved = AdRowAt(*history, PastPoint{.time = kStart + 1'999'999});
  ASSERT_TRUE(approved.ok() && approved->has_value());
  EXPECT_EQ((*approved)->status, "approved");
  EXPECT_EQ((*approved)->version, 2);
  auto now = AdRowAt(*history, PastPoint{.time = kStart + 9'000'000});
  EXPECT_EQ((*now)->status, "withdrawn");
}

}  // namespace
}  // namespace adsd::ads
