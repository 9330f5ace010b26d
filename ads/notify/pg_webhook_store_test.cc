// The PostgreSQL WebhookStore against the test server: each test on a fresh database, with the
// event store's schema (its log_head is the head a registration reads).
#include "ads/notify/pg_webhook_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::ads::notify {
namespace {

using cqrs::Position;

class PgWebhookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto events = cqrs::OpenPostgresEventStore({url_});
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    events_ = std::move(*events);
    auto s = PgWebhookStore::Open(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void AppendEvents(int n) {
    for (int i = 0; i < n; ++i) {
      cqrs::EventData e;
      e.event_id = cqrs::Uuid::V7();
      e.type = "Something";
      e.payload = "{}";
      ASSERT_TRUE(events_->Append("other-" + e.event_id.ToString(), cqrs::ExpectedVersion::Any(), {&e, 1}).ok());
    }
  }

  WebhookEndpoint Endpoint(const std::string& id, const std::string& retailer = "acme") {
    WebhookEndpoint e;
    e.id = id;
    e.retailer = retailer;
    e.url = "https://hooks.example.com/" + id;
    e.events = {"ad.approved", "ad.rejected"};
    e.secret = "whsec_x";
    e.created_us = 1;
    return e;
  }

  static WebhookDelivery Delivery(const std::string& id, const std::string& endpoint, const std::string& ad,
                                  std::uint64_t position) {
    WebhookDelivery d;
    d.id = id;
    d.endpoint_id = endpoint;
    d.ad_id = ad;
    d.position = Position(position);
    d.type = "ad.approved";
    d.body = R"({"type":"ad.approved","ad_id":")" + ad + R"(","reasons":["a \"quoted\" \\ one"]})";
    d.occurred_at_us = 10;
    d.created_us = 100;
    return d;
  }

  void Add(WebhookEndpoint e) {
    ASSERT_TRUE(store_->AddEndpoint(e, 10, [] { return Position(999); }).ok());
  }

  std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::unique_ptr<cqrs::EventStore> events_;
  std::unique_ptr<PgWebhookStore> store_;
};

TEST_F(PgWebhookStoreTest, ARegistrationIsAtTheLogHeadAndSeenByEveryProcess) {
  AppendEvents(3);
  WebhookEndpoint e = Endpoint("ep_1");
  // The head is the log_head row's, not what the caller passes.
  ASSERT_TRUE(store_->AddEndpoint(e, 10, [] { return Position(999); }).ok());
  EXPECT_EQ(e.after, Position(3));
  auto other = PgWebhookStore::Open(url_);  // another process's store: no cache to refresh
  ASSERT_TRUE(other.ok());
  auto all = (*other)->Endpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().url, e.url);
  EXPECT_EQ(all->front().events, e.events);
  EXPECT_EQ(all->front().after, Position(3));
  auto one = (*other)->Endpoint("ep_1");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->secret, "whsec_x");
  auto none = (*other)->Endpoint("ep_2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PgWebhookStoreTest, ARetailersLimitHoldsAgainstConcurrentRegistrations) {
  // Two processes registering at once: the count and the insert are under one lock.
  auto other = PgWebhookStore::Open(url_);
  ASSERT_TRUE(other.ok());
  std::atomic<int> added{0}, refused{0};
  auto register_some = [&](PgWebhookStore& s, const std::string& prefix) {
    for (int i = 0; i < 8; ++i) {
      WebhookEndpoint e = Endpoint(prefix + std::to_string(i));
      const cqrs::Status st = s.AddEndpoint(e, 10, [] { return Position(); });
      if (st.ok()) ++added;
      if (st.code() == cqrs::StatusCode::kAlreadyExists) ++refused;
    }
  };
  std::thread a([&] { register_some(*store_, "ep_a"); });
  std::thread b([&] { register_some(**other, "ep_b"); });
  a.join();
  b.join();
  EXPECT_EQ(added.load(), 10);
  EXPECT_EQ(refused.load(), 6);
  EXPECT_EQ(store_->Endpoints()->size(), 10u);
  WebhookEndpoint globex = Endpoint("ep_g", "globex");  // another retailer's count
  EXPECT_TRUE(store_->AddEndpoint(globex, 10, [] { return Position(); }).ok());
}

TEST_F(PgWebhookStoreTest, DeliveriesAreInsertedOnceAndDueOldestFirstInOrderPerAd) {
  Add(Endpoint("ep_1"));
  const std::vector<WebhookDelivery> ds = {Delivery("msg_1", "ep_1", "ad-x", 1), Delivery("msg_2", "ep_1", "ad-y", 2),
                                           Delivery("msg_3", "ep_1", "ad-x", 3)};
  ASSERT_TRUE(store_->AddDeliveries(ds).ok());
  ASSERT_TRUE(store_->AddDeliveries(ds).ok());  // the fan-out redoing a batch: nothing new
  auto all = store_->List("ep_1", DeliveryFilter::kAll, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].body, ds[0].body);
  EXPECT_EQ((*all)[0].state, DeliveryState::kPending);

  auto next = store_->NextDue("ep_1", 1000);
  ASSERT_TRUE(next.ok() && next->due);
  EXPECT_EQ(next->due->id, "msg_1");
  // msg_1 fails and waits: ad-y's goes next, ad-x's later change waits behind msg_1.
  ASSERT_TRUE(store_->MarkFailed("msg_1", 500, "HTTP 500", 5000).ok());
  next = store_->NextDue("ep_1", 1000);
  ASSERT_TRUE(next.ok() && next->due);
  EXPECT_EQ(next->due->id, "msg_2");
  ASSERT_TRUE(store_->MarkDelivered("msg_2", 204, 1100).ok());
  next = store_->NextDue("ep_1", 1000);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->due);
  ASSERT_TRUE(next->earliest_us);
  EXPECT_EQ(*next->earliest_us, 5000);
  next = store_->NextDue("ep_1", 5000);
  ASSERT_TRUE(next.ok() && next->due);
  EXPECT_EQ(next->due->id, "msg_1");
  EXPECT_EQ(next->due->attempts, 1);
  EXPECT_EQ(next->due->last_status, 500);
  EXPECT_EQ(next->due->last_error, "HTTP 500");

  auto failed = store_->List("ep_1", DeliveryFilter::kFailed, 10);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  auto delivered = store_->List("ep_1", DeliveryFilter::kDelivered, 10);
  ASSERT_TRUE(delivered.ok());
  ASSERT_EQ(delivered->size(), 1u);
  EXPECT_EQ(delivered->front().delivered_us, 1100);
  auto counts = store_->CountStates();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->pending, 2);
  EXPECT_EQ(counts->failed, 1);
  EXPECT_EQ(counts->parked, 0);
}

TEST_F(PgWebhookStoreTest, AParkedDeliveryIsRetriedWithItsAttemptsBack) {
  Add(Endpoint("ep_1"));
  ASSERT_TRUE(store_->AddDeliveries({Delivery("msg_1", "ep_1", "ad-x", 1), Delivery("msg_2", "ep_1", "ad-y", 2)}).ok());
  ASSERT_TRUE(store_->MarkFailed("msg_1", std::nullopt, "connection refused", std::nullopt).ok());
  auto parked = store_->List("ep_1", DeliveryFilter::kParked, 10);
  ASSERT_TRUE(parked.ok());
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_FALSE(parked->front().last_status);
  EXPECT_EQ(store_->CountStates()->parked, 1);
  ASSERT_TRUE(store_->Retry("ep_1", "msg_1", 42).ok());
  auto again = store_->List("ep_1", DeliveryFilter::kPending, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ(again->front().attempts, 0);
  EXPECT_EQ(again->front().next_attempt_us, 42);
  ASSERT_TRUE(store_->MarkDelivered("msg_2", 200, 50).ok());
  EXPECT_EQ(store_->Retry("ep_1", "msg_2", 60).code(), cqrs::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Retry("ep_1", "msg_9", 60).code(), cqrs::StatusCode::kNotFound);
  EXPECT_EQ(store_->Retry("ep_2", "msg_1", 60).code(), cqrs::StatusCode::kNotFound);
  // Delivered before the bound: forgotten.
  ASSERT_TRUE(store_->PruneDelivered("ep_1", 51).ok());
  EXPECT_TRUE(store_->List("ep_1", DeliveryFilter::kDelivered, 10)->empty());
}

TEST_F(PgWebhookStoreTest, RemovingAnEndpointRemovesItsDeliveriesAndOnlyItsOwnerMay) {
  Add(Endpoint("ep_1"));
  Add(Endpoint("ep_2", "globex"));
  ASSERT_TRUE(store_->AddDeliveries({Delivery("msg_1", "ep_1", "ad-x", 1), Delivery("msg_2", "ep_2", "ad-y", 2)}).ok());
  EXPECT_EQ(store_->RemoveEndpoint("ep_1", "globex").code(), cqrs::StatusCode::kNotFound);
  EXPECT_EQ(store_->List("ep_1", DeliveryFilter::kAll, 10)->size(), 1u);
  ASSERT_TRUE(store_->RemoveEndpoint("ep_1", "acme").ok());
  EXPECT_TRUE(store_->List("ep_1", DeliveryFilter::kAll, 10)->empty());
  EXPECT_EQ(store_->RemoveEndpoint("ep_1", "").code(), cqrs::StatusCode::kNotFound);
  ASSERT_TRUE(store_->RemoveEndpoint("ep_2", "").ok());  // an admin: any retailer's
  // A delivery for an endpoint removed meanwhile is not inserted.
  ASSERT_TRUE(store_->AddDeliveries({Delivery("msg_3", "ep_1", "ad-x", 3)}).ok());
  EXPECT_EQ(store_->CountStates()->pending, 0);
}

TEST_F(PgWebhookStoreTest, AFanOutCommitsItsDeliveriesWithItsCheckpoint) {
  Add(Endpoint("ep_1"));
  auto conn = cqrs::pg::Connection::Open(url_);
  ASSERT_TRUE(conn.ok());
  auto at = PgWebhookStore::Checkpoint(**conn, "webhooks");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(*at, Position(0));
  auto derive = [](const std::vector<WebhookEndpoint>& eps) {
    EXPECT_EQ(eps.size(), 1u);
    return std::vector<WebhookDelivery>{Delivery("msg_1", "ep_1", "ad-x", 4), Delivery("msg_2", "ep_1", "ad-x", 5)};
  };
  ASSERT_TRUE(PgWebhookStore::CommitFanOut(**conn, "webhooks", Position(5), derive).ok());
  EXPECT_EQ(*PgWebhookStore::Checkpoint(**conn, "webhooks"), Position(5));
  EXPECT_EQ(store_->List("ep_1", DeliveryFilter::kAll, 10)->size(), 2u);
  // The same batch again (a new leader from an older checkpoint): the same ids, nothing new.
  ASSERT_TRUE(PgWebhookStore::CommitFanOut(**conn, "webhooks", Position(5), derive).ok());
  EXPECT_EQ(store_->List("ep_1", DeliveryFilter::kAll, 10)->size(), 2u);

  // A failing insert commits neither the deliveries nor the checkpoint, and leaves the session
  // usable (rolled back).
  auto bad = [](const std::vector<WebhookEndpoint>&) {
    auto d = Delivery("msg_3", "ep_1", "ad-z", 6);
    d.body = std::string("\0", 1);  // text cannot hold NUL: the insert fails
    return std::vector<WebhookDelivery>{Delivery("msg_4", "ep_1", "ad-z", 6), d};
  };
  EXPECT_FALSE(PgWebhookStore::CommitFanOut(**conn, "webhooks", Position(6), bad).ok());
  EXPECT_EQ(*PgWebhookStore::Checkpoint(**conn, "webhooks"), Position(5));
  EXPECT_EQ(store_->List("ep_1", DeliveryFilter::kAll, 10)->size(), 2u);
}

}  // namespace
}  // namespace adsd::ads::notify
