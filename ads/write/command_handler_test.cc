#include "ads/write/command_handler.h"

#include <gtest/gtest.h>

#include <future>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "ads/write/current_state.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::ads {
namespace {

constexpr std::string_view kAd = R"({"title":"Winter boots","landing_url":"https://shop.example.com/boots",)"
                                 R"("category":"apparel","bid_cents":120,"currency":"USD","countries":["US"]})";

class CommandHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = cqrs::OpenEmbeddedEventStore({dir_.path() / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    pipeline_ = MakePublishFirstPipeline(*store_, latency_);
    handler_ = std::make_unique<AdCommandHandler>(*store_, *pipeline_, latency_, [](std::function<void()> task) {
      task();  // the test's thread may wait
      return true;
    });
  }

  template <typename Command>
  CommandResult Run(void (AdCommandHandler::*method)(Command, CommandDone), Command c) {
    std::promise<CommandResult> done;
    (handler_.get()->*method)(std::move(c), [&](CommandResult r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  Accepted Submit() {
    auto r = Run(&AdCommandHandler::Submit, SubmitAd{{"acme", false}, std::string(kAd), std::nullopt});
    EXPECT_TRUE(std::holds_alternative<Accepted>(r));
    return std::get<Accepted>(r);
  }

  // Appends `n` changes, each followed by its verdict, straight to the store (fast).
  void GrowHistory(const std::string& stream, int n) {
    auto current = LoadCurrentAd(*store_, stream);
    ASSERT_TRUE(current.ok() && *current);
    cqrs::StreamVersion v = (*current)->version;
    for (int i = 0; i < n; ++i) {
      Ad ad = (*current)->content.ad;
      ad.bid_cents = 100 + i;
      std::vector<cqrs::EventData> batch{
          NewAdEvent(events::kChanged, events::ContentPayload("acme", ad), cqrs::Uuid::V7()),
          NewAdEvent(events::kApproved, events::VerdictPayload({}), cqrs::Uuid::V7())};
      auto r = store_->Append(stream, cqrs::ExpectedVersion::Exact(v), batch);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      v = r->last_version;
    }
  }

  cqrs::testing::TempDir dir_;
  LatencyModel latency_;
  std::unique_ptr<cqrs::EventStore> store_;
  std::unique_ptr<SubmitPipeline> pipeline_;
  std::unique_ptr<AdCommandHandler> handler_;
};

Rejection RejectionOf(const CommandResult& r) {
  EXPECT_TRUE(std::holds_alternative<Rejection>(r));
  return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r) : Rejection{};
}

TEST_F(CommandHandlerTest, ALongHistoryIsNeitherCutNorSlowerToChange) {
  const Accepted a = Submit();
  const auto id = *cqrs::Uuid::Parse(a.ad_id);
  GrowHistory(events::StreamOf(id), 6000);  // 12,001 events: past the old 10,000-event cut
  auto current = LoadCurrentAd(*store_, events::StreamOf(id));
  ASSERT_TRUE(current.ok() && *current);
  EXPECT_EQ((*current)->version, cqrs::StreamVersion(12'001));
  EXPECT_EQ((*current)->content.ad.bid_cents, 100 + 5999);

  auto stale = Run(&AdCommandHandler::Change,
                   ChangeAd{{"acme", false}, id, R"({"bid_cents":7})", {false, {cqrs::StreamVersion(10'000)}}});
  EXPECT_EQ(RejectionOf(stale).code, RejectionCode::kStaleVersion);
  EXPECT_NE(RejectionOf(stale).detail.find("12001"), std::string::npos) << RejectionOf(stale).detail;

  auto changed = Run(&AdCommandHandler::Change,
                     ChangeAd{{"acme", false}, id, R"({"bid_cents":7})", {false, {cqrs::StreamVersion(12'001)}}});
  ASSERT_TRUE(std::holds_alternative<Accepted>(changed));
  EXPECT_EQ(std::get<Accepted>(changed).version, cqrs::StreamVersion(12'002));
}

TEST_F(CommandHandlerTest, CurrentStateIsFoundBehindATailWithoutContent) {
  const Accepted a = Submit();
  const std::string stream = events::StreamOf(*cqrs::Uuid::Parse(a.ad_id));
  // Not what adsd writes, but what another writer of the stream could: 100 verdicts in a row.
  std::vector<cqrs::EventData> verdicts;
  for (int i = 0; i < 100; ++i)
    verdicts.push_back(NewAdEvent(events::kApproved, events::VerdictPayload({}), cqrs::Uuid::V7()));
  ASSERT_TRUE(store_->Append(stream, cqrs::ExpectedVersion::Exact(cqrs::StreamVersion(1)), verdicts).ok());
  auto current = LoadCurrentAd(*store_, stream);
  ASSERT_TRUE(current.ok() && *current) << current.status().ToString();
  EXPECT_EQ((*current)->version, cqrs::StreamVersion(101));
  EXPECT_EQ((*current)->content.retailer, "acme");
  EXPECT_FALSE((*current)->withdrawn);
}

TEST_F(CommandHandlerTest, WithdrawChecksItsPreconditionAsChangeDoes) {
  const Accepted a = Submit();
  const auto id = *cqrs::Uuid::Parse(a.ad_id);
  auto stale =
      Run(&AdCommandHandler::Withdraw, WithdrawAd{{"acme", false}, id, VersionMatch{false, {cqrs::StreamVersion(7)}}});
  EXPECT_EQ(RejectionOf(stale).code, RejectionCode::kStaleVersion);
  auto other = Run(&AdCommandHandler::Withdraw, WithdrawAd{{"globex", false}, id, std::nullopt});
  EXPECT_EQ(RejectionOf(other).code, RejectionCode::kNotFound);
  auto any = Run(&AdCommandHandler::Withdraw, WithdrawAd{{"acme", false}, id, VersionMatch{true, {}}});
  ASSERT_TRUE(std::holds_alternative<Accepted>(any));
  EXPECT_EQ(std::get<Accepted>(any).status, "withdrawn");
  auto again = Run(&AdCommandHandler::Withdraw, WithdrawAd{{"acme", false}, id, std::nullopt});
  EXPECT_EQ(RejectionOf(again).code, RejectionCode::kWithdrawn);
  auto change = Run(&AdCommandHandler::Change, ChangeAd{{"acme", false}, id, R"({"bid_cents":7})", {true, {}}});
  EXPECT_EQ(RejectionOf(change).code, RejectionCode::kWithdrawn);
}

TEST_F(CommandHandlerTest, AnIdempotentRetryGetsTheFirstAnswerAndAnotherBodyIsRefused) {
  SubmitAd first{{"acme", false}, std::string(kAd), "order-17"};
  auto r1 = Run(&AdCommandHandler::Submit, first);
  auto r2 = Run(&AdCommandHandler::Submit, first);
  ASSERT_TRUE(std::holds_alternative<Accepted>(r1));
  ASSERT_TRUE(std::holds_alternative<Accepted>(r2));
  EXPECT_EQ(std::get<Accepted>(r1).ad_id, std::get<Accepted>(r2).ad_id);
  EXPECT_EQ(std::get<Accepted>(r1).position, std::get<Accepted>(r2).position);
  SubmitAd other = first;
  other.body = std::string(kAd).replace(std::string(kAd).find("120"), 3, "130");
  EXPECT_EQ(RejectionOf(Run(&AdCommandHandler::Submit, other)).code, RejectionCode::kIdempotencyKeyReused);
  // Another retailer's same key is another ad.
  SubmitAd globex = first;
  globex.sender.retailer = "globex";
  auto r3 = Run(&AdCommandHandler::Submit, globex);
  ASSERT_TRUE(std::holds_alternative<Accepted>(r3));
  EXPECT_NE(std::get<Accepted>(r3).ad_id, std::get<Accepted>(r1).ad_id);
}

TEST_F(CommandHandlerTest, AdminsCannotSubmitAndBadInputNamesTheField) {
  EXPECT_EQ(RejectionOf(Run(&AdCommandHandler::Submit, SubmitAd{{"", true}, std::string(kAd), std::nullopt})).code,
            RejectionCode::kForbidden);
  auto bad = RejectionOf(Run(&AdCommandHandler::Submit, SubmitAd{{"acme", false}, R"({"title":""})", std::nullopt}));
  EXPECT_EQ(bad.code, RejectionCode::kInvalid);
  EXPECT_FALSE(bad.fields.empty());
  auto key = RejectionOf(Run(&AdCommandHandler::Submit, SubmitAd{{"acme", false}, std::string(kAd), "bad key"}));
  EXPECT_EQ(key.code, RejectionCode::kBadIdempotencyKey);
  EXPECT_EQ(store_->Head(), cqrs::Position(0)) << "refused commands write nothing";
}

}  // namespace
}  // namespace adsd::ads
