// PgWebhookDeliverer against the test PostgreSQL: one delivering process among several (the lock
// holder), the fan-out from the store's global order into the deliveries table, a standby taking
// over from the committed checkpoint without deriving a delivery twice. The endpoint refuses
// connections: the attempts are recorded as failures, which is what shows who sends.
#include "ads/notify/pg_webhook_deliverer.h"

#include <gtest/gtest.h>

#include <thread>

#include "ads/events.h"
#include "cqrs/core/testing/wait_until.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/store.h"

namespace adsd::ads::notify {
namespace {

using namespace std::chrono_literals;
using cqrs::testing::WaitUntil;

class PgWebhookDelivererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto events = cqrs::OpenPostgresEventStore({url_});
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    events_ = std::move(*events);
    auto s = PgWebhookStore::Open(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    changes_ = std::make_unique<StatusChanges>(*events_);
    options_.outbound.private_addresses = http::PrivateAddresses::kAllow;
    options_.outbound.connect_timeout = 200ms;
    options_.backoff_first = 20ms;
    options_.backoff_max = 50ms;
    options_.max_attempts = 1000;
    options_.lane_poll = 100ms;
  }

  std::unique_ptr<PgWebhookDeliverer> Deliverer(std::chrono::milliseconds endpoint_refresh = 100ms) {
    PgDelivererOptions o;
    o.url = url_;
    o.standby_retry = 50ms;
    o.endpoint_refresh = endpoint_refresh;
    auto d = PgWebhookDeliverer::Start(*events_, *changes_, *store_, options_, o);
    EXPECT_TRUE(d.ok());
    return std::move(*d);
  }

  // A withdrawal of a new ad of `retailer` (the event names its retailer).
  void Withdraw(const std::string& retailer) {
    cqrs::EventData e;
    e.event_id = cqrs::Uuid::V7();
    e.type = std::string(events::kWithdrawn);
    e.payload = events::WithdrawnPayload(retailer);
    ASSERT_TRUE(events_->Append(events::StreamOf(cqrs::Uuid::V7()), cqrs::ExpectedVersion::Any(), {&e, 1}).ok());
  }

  WebhookEndpoint Register(const std::string& retailer) {
    WebhookEndpoint e;
    e.id = "ep_" + cqrs::Uuid::V7().ToString();
    e.retailer = retailer;
    e.url = "http://127.0.0.1:1/hook";  // refused
    e.events = {"ad.withdrawn"};
    e.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    EXPECT_TRUE(store_->AddEndpoint(e, 10, [] { return cqrs::Position(); }).ok());
    return e;
  }

  std::int64_t Count(const std::string& sql) { return cqrs::testing::QueryCount(url_, sql); }

  std::string url_ = cqrs::testing::FreshPostgresDatabase();
  std::unique_ptr<cqrs::EventStore> events_;
  std::unique_ptr<PgWebhookStore> store_;
  std::unique_ptr<StatusChanges> changes_;
  WebhookOptions options_;
};

TEST_F(PgWebhookDelivererTest, OneDeliversAndAStandbyTakesOverFromTheCheckpointWithTheSameDeliveries) {
  Withdraw("acme");  // before the registration: not delivered
  const WebhookEndpoint endpoint = Register("acme");
  auto a = Deliverer();
  auto b = Deliverer();
  for (int i = 0; i < 5; ++i) Withdraw("acme");
  Withdraw("globex");  // another retailer's: not for this endpoint
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries") == 5; }, 20s))
      << Count("SELECT count(*) FROM webhook_deliveries");
  ASSERT_TRUE(WaitUntil([&] { return a->leader() != b->leader(); }, 20s));
  PgWebhookDeliverer* leader = a->leader() ? a.get() : b.get();
  PgWebhookDeliverer* standby = a->leader() ? b.get() : a.get();
  // The leader sends (every attempt fails: the endpoint refuses), the standby does not.
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries WHERE attempts > 0") > 0; }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return leader->position() == events_->Head(); }, 20s));
  EXPECT_EQ(Count("SELECT position FROM checkpoints WHERE name = 'webhooks'"),
            static_cast<std::int64_t>(events_->Head().value()));
  EXPECT_FALSE(standby->leader());

  // The leader goes (its session ends); the standby leads from the checkpoint.
  auto ids_before = Count("SELECT count(DISTINCT id) FROM webhook_deliveries");
  if (leader == a.get()) {
    a.reset();
  } else {
    b.reset();
  }
  ASSERT_TRUE(WaitUntil([&] { return standby->leader(); }, 10s));
  for (int i = 0; i < 3; ++i) Withdraw("acme");
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries") == 8; }, 20s))
      << Count("SELECT count(*) FROM webhook_deliveries");
  EXPECT_EQ(ids_before, 5);
  // Its attempts go on under the same ids: no delivery derived twice, each retried.
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT min(attempts) FROM webhook_deliveries") >= 2; }, 20s));
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id <> '" + endpoint.id + "'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM webhook_deliveries WHERE last_error IS NULL"), 0);
}

TEST_F(PgWebhookDelivererTest, AnEndpointRegisteredWhileDeliveringGetsEveryLaterChange) {
  auto d = Deliverer();
  ASSERT_TRUE(WaitUntil([&] { return d->leader(); }, 20s));
  for (int i = 0; i < 3; ++i) Withdraw("acme");
  ASSERT_TRUE(WaitUntil([&] { return d->position() == events_->Head(); }, 20s));
  const WebhookEndpoint endpoint = Register("acme");
  EXPECT_EQ(endpoint.after, events_->Head());
  for (int i = 0; i < 4; ++i) Withdraw("acme");
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries") == 4; }, 20s))
      << Count("SELECT count(*) FROM webhook_deliveries");
  EXPECT_EQ(Count("SELECT min(position) FROM webhook_deliveries"),
            static_cast<std::int64_t>(endpoint.after.value()) + 1);
  // Its lane started without a restart: its deliveries are attempted.
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries WHERE attempts > 0") > 0; }, 20s));
}

TEST_F(PgWebhookDelivererTest, ARetryAskedElsewhereIsSentAtOnceNotAtTheNextPoll) {
  // The polls a minute apart: only the NOTIFY of the change can make these happen in seconds.
  options_.lane_poll = 60s;
  options_.backoff_first = 60s;
  options_.backoff_max = 60s;
  options_.max_attempts = 2;
  const WebhookEndpoint endpoint = Register("acme");
  auto d = Deliverer(/*endpoint_refresh=*/60s);
  ASSERT_TRUE(WaitUntil([&] { return d->leader(); }, 20s));
  Withdraw("acme");
  // The first attempt fails (refused); the next would be a minute later.
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries WHERE attempts = 1") == 1; }, 20s));
  auto elsewhere = PgWebhookStore::Open(url_);  // as a read process would
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  auto pending = (*elsewhere)->List(endpoint.id, DeliveryFilter::kAll, 10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1);
  ASSERT_TRUE((*elsewhere)->Retry(endpoint.id, pending->front().id, cqrs::NowUs()).ok());
  ASSERT_TRUE(WaitUntil([&] { return Count("SELECT count(*) FROM webhook_deliveries WHERE attempts = 2") == 1; }, 10s))
      << "the retry was not sent at once";
}

}  // namespace
}  // namespace adsd::ads::notify
