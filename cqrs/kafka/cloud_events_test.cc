// The bus as other tools see it: a stock Kafka client (kcat) reads the relay's messages as
// CloudEvents, and a consumer tells first deliveries from possible repeats.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "cqrs/core/time.h"
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/relay.h"
#include "cqrs/pg/testing/test_servers.h"
#include "cqrs/store/postgres/store.h"

namespace cqrs::kafka {
namespace {

using namespace std::chrono_literals;

BusOptions FreshBus() {
  BusOptions b;
  b.brokers = testing::TestKafkaBootstrap();
  b.topic = "ce-" + Uuid::V7().ToString();
  b.partitions = 2;
  b.event_source = {.source = "/test", .content_type = "application/json"};
  return b;
}

std::unique_ptr<EventStore> OpenStore(const std::string& url) {
  auto s = OpenPostgresEventStore({url});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(*s);
}

void Append(EventStore& store, const std::string& stream, int n, const Uuid& correlation = {}) {
  for (int i = 0; i < n; ++i) {
    EventData e;
    e.event_id = Uuid::V7();
    e.type = i == 0 ? "AdSubmitted" : "AdApproved";
    e.payload = R"({"n":)" + std::to_string(i) + "}";
    e.correlation_id = correlation;
    ASSERT_TRUE(store.Append(stream, ExpectedVersion::Any(), std::span(&e, 1)).ok());
  }
}

bool Published(const BusRelay& relay, Position p) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (relay.published() < p && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  return relay.published() >= p;
}

// Runs a command to its end; its standard output.
std::string Output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(CloudEvents, AStockClientFindsAnAdsEventsWithTheirAttributes) {
  ASSERT_FALSE(Output("command -v kcat").empty()) << "kcat is not installed (scripts/install-deps.sh --servers)";
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  const Uuid correlation = Uuid::V7();
  Append(*store, "ad-other", 3);
  Append(*store, "ad-0193", 2, correlation);
  auto events = store->ReadStream("ad-0193", StreamVersion(1), 10);
  ASSERT_TRUE(events.ok() && events->size() == 2);
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  ASSERT_TRUE(Published(**relay, Position(5)));

  // kcat, as an operator would run it: one line per message, its key, headers and value.
  const std::string out =
      Output("timeout 60 kcat -C -q -e -b " + bus.brokers + " -t " + bus.topic + " -f 'key=%k|%h|value=%s\\n' 2>&1");
  std::vector<std::string> lines;
  for (std::size_t at = 0, nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) {
    if (out.compare(at, 12, "key=ad-0193|") == 0) lines.push_back(out.substr(at, nl - at));
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
    return a.find("ce_streamversion=1") != std::string::npos && b.find("ce_streamversion=1") == std::string::npos;
  });
  for (std::size_t i = 0; i < 2; ++i) {
    const RecordedEvent& e = (*events)[i];
    const std::string& line = lines[i];
    for (const std::string& want : std::vector<std::string>{
             "ce_specversion=1.0", "ce_id=" + e.event_id.ToString(), "ce_source=/test", "ce_type=" + e.type,
             "ce_subject=ad-0193", "content-type=application/json", "ce_time=" + FormatRfc3339(e.timestamp_us),
             "ce_position=" + std::to_string(e.position.value()), "ce_streamversion=" + std::to_string(i + 1),
             "ce_hash=" + ToHex(e.hash), "ce_correlationid=" + correlation.ToString(), "|value=" + e.payload}) {
      EXPECT_NE(line.find(want), std::string::npos) << want << " not in " << line;
    }
  }
}

TEST(CloudEvents, AMemberTakesWhatWasOnItsPartitionsForPossibleRepeatsAndLaterMessagesForFirst) {
  const std::string url = testing::FreshPostgresDatabase();
  auto store = OpenStore(url);
  const BusOptions bus = FreshBus();
  auto relay = BusRelay::Start(*store, {bus, url});
  ASSERT_TRUE(relay.ok()) << relay.status().ToString();
  Append(*store, "before", 4);
  ASSERT_TRUE(Published(**relay, Position(4)));

  std::mutex mu;
  std::map<std::string, std::vector<consumer::Delivery>> seen;
  auto member = BusConsumer::Start(
      {bus, "g", 2},
      consumer::DeliveryHandler([&](const RecordedEvent& e, consumer::Delivery d, consumer::Completion done) {
        {
          std::lock_guard lock(mu);
          seen[e.stream].push_back(d);
        }
        done(Status::Ok());
      }));
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  auto count = [&](const std::string& stream) {
    std::lock_guard lock(mu);
    return seen[stream].size();
  };
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (count("before") < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(count("before"), 4u);
  ASSERT_EQ((*member)->assigned_partitions(), 2);  // it holds both since it saw everything
  Append(*store, "after", 4);
  while (count("after") < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(count("after"), 4u);
  std::lock_guard lock(mu);
  for (auto d : seen["before"]) EXPECT_EQ(d, consumer::Delivery::kMaybeRepeated);
  for (auto d : seen["after"]) EXPECT_EQ(d, consumer::Delivery::kFirst);
}

}  // namespace
}  // namespace cqrs::kafka
