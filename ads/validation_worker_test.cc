#include "ads/validation_worker.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/store/embedded_store.h"

namespace adsd::ads {
namespace {

using std::chrono::steady_clock;

ValidationWorkerOptions Lanes(int n, const LatencyModel* latency = nullptr) {
  ValidationWorkerOptions o;
  o.concurrency = n;
  o.latency = latency;
  return o;
}

class ValidationWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = cqrs::OpenEmbeddedEventStore({dir_.path() / "log"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto offsets = cqrs::log::ConsumerOffsets::Open(dir_.path() / "offsets");
    ASSERT_TRUE(offsets.ok());
    offsets_ = std::move(*offsets);
  }

  // Submits `n` ads; returns their streams.
  std::vector<std::string> Submit(int n) {
    std::vector<std::string> streams;
    for (int i = 0; i < n; ++i) {
      ParsedAd ad = ParseAd(R"({"title":"Boots )" + std::to_string(i) +
                            R"(","landing_url":"https://shop.example.com","category":"apparel",)"
                            R"("bid_cents":100,"currency":"EUR","countries":["FR"]})");
      EXPECT_TRUE(ad.ok());
      cqrs::EventData e;
      e.event_id = cqrs::Uuid::V7();
      e.type = std::string(events::kSubmitted);
      e.payload = events::ContentPayload("acme", ad.ad);
      streams.push_back(events::StreamOf(cqrs::Uuid::V7()));
      EXPECT_TRUE(store_->Append(streams.back(), cqrs::ExpectedVersion::NoStream(), std::span(&e, 1)).ok());
    }
    return streams;
  }

  // Waits until every stream has its verdict (version 2).
  bool AllDecided(const std::vector<std::string>& streams, steady_clock::duration within) {
    const auto deadline = steady_clock::now() + within;
    for (const auto& s : streams) {
      while (store_->GetStreamVersion(s).value() < cqrs::StreamVersion(2)) {
        if (steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a wait on time
      }
    }
    return true;
  }

  cqrs::testing::TempDir dir_;
  std::unique_ptr<cqrs::EventStore> store_;
  std::unique_ptr<cqrs::log::ConsumerOffsets> offsets_;
  RuleEngine rules_ = RuleEngine::Defaults();
};

TEST_F(ValidationWorkerTest, ManyLanesDecideEveryAdExactlyOnceAndARestartRedoesNothing) {
  const auto streams = Submit(600);
  {
    ValidationWorker worker(*store_, *offsets_, rules_, nullptr, Lanes(16));
    ASSERT_TRUE(worker.Start().ok());
    ASSERT_TRUE(AllDecided(streams, std::chrono::seconds(60)));
    EXPECT_EQ(worker.decided(), 600u);
    // The watermark covers every submission once their verdicts are durable.
    const auto deadline = steady_clock::now() + std::chrono::seconds(30);
    while (worker.position() < cqrs::Position(600) && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_GE(worker.position(), cqrs::Position(600));
  }  // stopping commits the watermark
  EXPECT_GE(offsets_->Load(std::string(ValidationWorker::kGroup)), cqrs::Position(600));
  for (const auto& s : streams) EXPECT_EQ(store_->GetStreamVersion(s).value(), cqrs::StreamVersion(2)) << s;

  // Forget the offset: everything is redelivered, nothing is decided twice.
  ASSERT_TRUE(offsets_->Commit(std::string(ValidationWorker::kGroup), cqrs::Position(0)).ok());
  ValidationWorker again(*store_, *offsets_, rules_, nullptr, Lanes(4));
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(store_->WaitForPosition(store_->Head(), steady_clock::now() + std::chrono::seconds(5)));
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);
  while (again.position() < store_->Head() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(again.position(), store_->Head());
  EXPECT_EQ(again.decided(), 0u);
  for (const auto& s : streams) EXPECT_EQ(store_->GetStreamVersion(s).value(), cqrs::StreamVersion(2)) << s;
}

// Consume() settled: waits for its completion (the verdict's commit).
cqrs::Status ConsumeAndWait(ValidationWorker& worker, const cqrs::RecordedEvent& e, cqrs::consumer::Delivery d) {
  std::promise<cqrs::Status> settled;
  auto f = settled.get_future();
  worker.Consume(e, d, [&settled](cqrs::Status st) { settled.set_value(std::move(st)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) return cqrs::Unavailable("not settled");
  return f.get();
}

TEST_F(ValidationWorkerTest, AFirstDeliveryIsJudgedWithoutAReadAndARedeliveryAsksFirst) {
  const auto streams = Submit(3);
  ValidationWorker worker(*store_, *offsets_, rules_, nullptr, Lanes(1));
  auto first = store_->ReadStream(streams[0], cqrs::StreamVersion(1), 1);
  ASSERT_TRUE(first.ok() && first->size() == 1);
  ASSERT_TRUE(ConsumeAndWait(worker, first->front(), cqrs::consumer::Delivery::kFirst).ok());
  EXPECT_EQ(worker.checked(), 0u);
  EXPECT_EQ(worker.decided(), 1u);
  // Redelivered: the read finds the verdict, nothing is judged or appended.
  ASSERT_TRUE(ConsumeAndWait(worker, first->front(), cqrs::consumer::Delivery::kMaybeRepeated).ok());
  EXPECT_EQ(worker.checked(), 1u);
  EXPECT_EQ(worker.decided(), 1u);
  EXPECT_EQ(store_->GetStreamVersion(streams[0]).value(), cqrs::StreamVersion(2));
  // A redelivery of an event nobody decided yet is decided.
  auto second = store_->ReadStream(streams[1], cqrs::StreamVersion(1), 1);
  ASSERT_TRUE(ConsumeAndWait(worker, second->front(), cqrs::consumer::Delivery::kMaybeRepeated).ok());
  EXPECT_EQ(worker.checked(), 2u);
  EXPECT_EQ(worker.decided(), 2u);
  EXPECT_EQ(store_->GetStreamVersion(streams[1]).value(), cqrs::StreamVersion(2));
}

TEST_F(ValidationWorkerTest, ARedeliveredEventIsNeverDecidedTwiceEvenWhenTakenForAFirstDelivery) {
  // The worst a source can do: deliver again, at the same time as the first delivery and after
  // it, and call each one a first delivery (no read). The verdict's id and expected version
  // still let exactly one verdict through.
  const auto streams = Submit(200);
  ValidationWorker worker(*store_, *offsets_, rules_, nullptr, Lanes(8));
  std::vector<cqrs::RecordedEvent> submitted;
  for (const auto& s : streams) submitted.push_back(store_->ReadStream(s, cqrs::StreamVersion(1), 1)->front());
  std::atomic<int> failures{0};
  auto deliver_all = [&](cqrs::consumer::Delivery d) {
    for (const auto& e : submitted) {
      if (!ConsumeAndWait(worker, e, d).ok()) failures.fetch_add(1);
    }
  };
  std::thread a(deliver_all, cqrs::consumer::Delivery::kFirst);
  std::thread b(deliver_all, cqrs::consumer::Delivery::kFirst);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(worker.decided(), 200u);
  // A change after the verdict: a late redelivery of the submission must not judge it again
  // (the stream moved on: a conflict, dropped).
  cqrs::EventData change;
  change.event_id = cqrs::Uuid::V7();
  change.type = std::string(events::kWithdrawn);
  change.payload = "{}";
  ASSERT_TRUE(
      store_->Append(streams[0], cqrs::ExpectedVersion::Exact(cqrs::StreamVersion(2)), std::span(&change, 1)).ok());
  deliver_all(cqrs::consumer::Delivery::kFirst);
  deliver_all(cqrs::consumer::Delivery::kMaybeRepeated);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(worker.decided(), 200u);
  EXPECT_EQ(store_->GetStreamVersion(streams[0]).value(), cqrs::StreamVersion(3));
  for (std::size_t i = 1; i < streams.size(); ++i) {
    auto events = store_->ReadStream(streams[i], cqrs::StreamVersion(1), 10);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 2u) << streams[i];  // the submission and one verdict
    EXPECT_TRUE(events->back().type == events::kApproved || events->back().type == events::kRejected);
  }
  EXPECT_EQ(worker.checked(), 200u);  // only the deliveries said to be repeated read
}

TEST_F(ValidationWorkerTest, LanesJudgeSlowAdsAtTheSameTime) {
  // Detailed validation modeled at 400 ms an ad: one lane would need 6.4 s for 16 ads.
  auto model = LatencyModel::FromPaperModel(
      R"({"steps_ms":{"basic_validation":0,"store_incoming_record":0,"publish_to_event_stream":0,)"
      R"("detailed_validation_external_api":400,"store_validation_results":0}})",
      1.0);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto streams = Submit(16);
  const auto began = steady_clock::now();
  ValidationWorker worker(*store_, *offsets_, rules_, nullptr, Lanes(16, &*model));
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(AllDecided(streams, std::chrono::seconds(5)));
  EXPECT_LT(steady_clock::now() - began, std::chrono::milliseconds(6400));
}

TEST(LatencyModel, ReadsThePaperModelAndDividesByTheScale) {
  auto m = LatencyModel::FromPaperModel(
      R"({"steps_ms":{"basic_validation":324,"store_incoming_record":540,"publish_to_event_stream":100,)"
      R"("detailed_validation_external_api":864,"store_validation_results":432}})",
      20);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->enabled());
  EXPECT_EQ(m->injected(Step::kBasicValidation), std::chrono::microseconds(16200));
  EXPECT_EQ(m->injected(Step::kPublishToEventStream), std::chrono::microseconds(5000));
  EXPECT_EQ(m->injected(Step::kDetailedValidation), std::chrono::microseconds(43200));
  EXPECT_FALSE(LatencyModel().enabled());
  EXPECT_FALSE(LatencyModel::FromPaperModel(R"({"steps_ms":{"basic_validation":1}})", 20).ok());
  EXPECT_FALSE(LatencyModel::FromPaperModel("not json", 20).ok());
  EXPECT_FALSE(LatencyModel::FromPaperModel(R"({"steps_ms":{}})", 0).ok());
}

}  // namespace
}  // namespace adsd::ads
