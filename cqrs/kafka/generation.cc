#include "cqrs/kafka/generation.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "cqrs/kafka/event_codec.h"
#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/migrations.h"

namespace cqrs::kafka {

namespace {

using pg::Param;

const pg::Migration kBusMigrations[] = {
    {1, "topic generations", R"sql(
-- A topic family's generations after the first (which is the family's own topic and has no row):
-- the one with the highest number is current. generation.h says when one starts.
CREATE TABLE bus_generations(
  base TEXT NOT NULL,
  generation INT NOT NULL,
  topic TEXT NOT NULL,
  replayed_through BIGINT NOT NULL,  -- the store's head when it began
  reason TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (base, generation));
)sql"},
};

// How far back from a partition's end the newest stored event is looked for (messages that are
// not stored events, such as another producer's, are passed over).
constexpr std::int64_t kTailMessages = 16;
constexpr int kTimeoutMs = 10'000;

std::vector<BusHeader> HeadersOf(RdKafka::Message& m) {
  std::vector<BusHeader> out;
  RdKafka::Headers* headers = m.headers();
  if (headers == nullptr) return out;
  for (const RdKafka::Headers::Header& h : headers->get_all()) {
    const char* v = static_cast<const char*>(h.value());
    out.push_back({h.key(), v == nullptr ? std::string() : std::string(v, h.value_size())});
  }
  return out;
}

Result<std::unique_ptr<RdKafka::KafkaConsumer>> OpenReader(const BusOptions& bus) {
  // A group id is required by the client; this reader assigns partitions itself and never joins
  // the group or commits.
  ASSIGN_OR_RETURN(auto conf, MakeConf(bus, {{"group.id", "cqrs-topic-tail"},
                                             {"enable.auto.commit", "false"},
                                             {"enable.partition.eof", "true"},
                                             {"allow.auto.create.topics", "false"}}));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) return Unavailable("bus: reader: " + err);
  return c;
}

// The topics on the brokers.
Result<std::set<std::string>> Topics(RdKafka::KafkaConsumer& c) {
  RdKafka::Metadata* md = nullptr;
  if (RdKafka::ErrorCode rc = c.metadata(true, nullptr, &md, kTimeoutMs); rc != RdKafka::ERR_NO_ERROR) {
    return Unavailable("bus: listing topics: " + RdKafka::err2str(rc));
  }
  std::unique_ptr<RdKafka::Metadata> owned(md);
  std::set<std::string> out;
  for (const RdKafka::TopicMetadata* t : *md->topics()) out.insert(t->topic());
  return out;
}

// Whether an error of a partition's leader is one a moment cures: a topic just created, or a
// leader being elected or moved (a broker restarting, a cluster starting up).
bool LeaderSettling(RdKafka::ErrorCode rc) {
  return rc == RdKafka::ERR_NOT_LEADER_FOR_PARTITION || rc == RdKafka::ERR_LEADER_NOT_AVAILABLE ||
         rc == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || rc == RdKafka::ERR__TIMED_OUT || rc == RdKafka::ERR__TRANSPORT;
}

// A partition's low and high watermarks, asked again while its leader settles (up to the
// timeout): at start, a topic created a moment ago may have no leader yet.
RdKafka::ErrorCode WatermarksOf(RdKafka::KafkaConsumer& c, const std::string& topic, std::int32_t p, std::int64_t& low,
                                std::int64_t& high) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (true) {
    const RdKafka::ErrorCode rc = c.query_watermark_offsets(topic, p, &low, &high, kTimeoutMs);
    if (rc == RdKafka::ERR_NO_ERROR || !LeaderSettling(rc) || std::chrono::steady_clock::now() >= deadline) {
      return rc;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a backoff before asking again
  }
}

// The newest stored event of each non-empty partition of `topic`.
Result<std::map<std::int32_t, RecordedEvent>> Tails(RdKafka::KafkaConsumer& c, const std::string& topic) {
  std::map<std::int32_t, RecordedEvent> tails;
  RdKafka::Metadata* md = nullptr;
  if (RdKafka::ErrorCode rc = c.metadata(true, nullptr, &md, kTimeoutMs); rc != RdKafka::ERR_NO_ERROR) {
    return Unavailable("bus: metadata of " + topic + ": " + RdKafka::err2str(rc));
  }
  std::unique_ptr<RdKafka::Metadata> owned(md);
  std::vector<std::int32_t> partitions;
  for (const RdKafka::TopicMetadata* t : *md->topics()) {
    if (t->topic() != topic) continue;
    for (const RdKafka::PartitionMetadata* p : *t->partitions()) partitions.push_back(p->id());
  }
  std::vector<RdKafka::TopicPartition*> assign;
  std::set<std::int32_t> open;
  for (std::int32_t p : partitions) {
    std::int64_t low = 0, high = 0;
    if (RdKafka::ErrorCode rc = WatermarksOf(c, topic, p, low, high); rc != RdKafka::ERR_NO_ERROR) {
      RdKafka::TopicPartition::destroy(assign);
      return Unavailable("bus: the end of " + topic + " partition " + std::to_string(p) + ": " + RdKafka::err2str(rc));
    }
    if (high <= low) continue;
    assign.push_back(RdKafka::TopicPartition::create(topic, p, std::max(low, high - kTailMessages)));
    open.insert(p);
  }
  if (assign.empty()) return tails;
  const RdKafka::ErrorCode rc = c.assign(assign);
  RdKafka::TopicPartition::destroy(assign);
  if (rc != RdKafka::ERR_NO_ERROR) return Unavailable("bus: reading " + topic + ": " + RdKafka::err2str(rc));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (!open.empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)c.unassign();
      return Unavailable("bus: reading the newest events of " + topic + " took more than 10 s");
    }
    std::unique_ptr<RdKafka::Message> m(c.consume(200));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      open.erase(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      auto e = DecodeEvent(HeadersOf(*m), std::string_view(static_cast<const char*>(m->payload()), m->len()));
      if (e.ok() && e->position.value() > 0) tails[m->partition()] = std::move(*e);
    } else if (m->err() != RdKafka::ERR__TIMED_OUT) {
      (void)c.unassign();
      return Unavailable("bus: reading " + topic + ": " + m->errstr());
    }
  }
  (void)c.unassign();
  return tails;
}

std::string GenerationTopic(const std::string& base, int n) { return base + ".g" + std::to_string(n); }

}  // namespace

std::string TopicAhead::Describe() const {
  std::string out = "topic " + topic + " holds events the event store no longer has:";
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    out += (i == 0 ? " " : "; ") + std::string("partition ") + std::to_string(partitions[i].partition) +
           "'s newest event " + partitions[i].check.Describe();
  }
  return out;
}

namespace {
// The newest row of `base`, without migrating (callers in a transaction).
Result<TopicGeneration> ReadGeneration(pg::Connection& store_db, const std::string& base) {
  ASSIGN_OR_RETURN(pg::Rows r, store_db.Query("SELECT generation, topic, replayed_through FROM bus_generations "
                                              "WHERE base = $1 ORDER BY generation DESC LIMIT 1",
                                              {Param::Text(base)}));
  TopicGeneration g;
  g.topic = base;
  if (r.empty()) return g;
  g.number = static_cast<int>(r.Int(0, 0));
  g.topic = std::string(r.Text(0, 1));
  g.replayed_through = Position(static_cast<std::uint64_t>(r.Int(0, 2)));
  return g;
}
}  // namespace

Result<TopicGeneration> CurrentGeneration(pg::Connection& store_db, const std::string& base) {
  RETURN_IF_ERROR(pg::Migrate(store_db, "bus", kBusMigrations));
  return ReadGeneration(store_db, base);
}

Result<std::optional<TopicAhead>> FindTopicAhead(const BusOptions& bus, const EventStore& store,
                                                 std::chrono::milliseconds head_wait) {
  ASSIGN_OR_RETURN(auto reader, OpenReader(bus));
  auto tails = Tails(*reader, bus.topic);
  reader->close();
  if (!tails.ok()) return tails.status();
  TopicAhead ahead{bus.topic, {}};
  for (const auto& [partition, e] : *tails) {
    ASSIGN_OR_RETURN(CheckpointCheck c, CheckCheckpoint(store, {e.position, e.hash}, head_wait));
    if (c.ahead()) ahead.partitions.push_back({partition, std::move(c)});
  }
  if (ahead.partitions.empty()) return std::optional<TopicAhead>();
  return std::optional<TopicAhead>(std::move(ahead));
}

Result<SettledGeneration> SettleGeneration(pg::Connection& store_db, const EventStore& store, const BusOptions& bus,
                                           AheadPolicy policy) {
  const std::string& base = bus.topic;
  RETURN_IF_ERROR(pg::Migrate(store_db, "bus", kBusMigrations));
  RETURN_IF_ERROR(store_db.Exec("BEGIN"));
  auto settle = [&]() -> Result<SettledGeneration> {
    RETURN_IF_ERROR(
        store_db
            .Query("SELECT pg_advisory_xact_lock($1)", {Param::Int(pg::AdvisoryLockKey("cqrs bus generation " + base))})
            .status());
    SettledGeneration s;
    ASSIGN_OR_RETURN(s.generation, ReadGeneration(store_db, base));
    BusOptions current = bus;
    current.topic = s.generation.topic;
    ASSIGN_OR_RETURN(std::optional<TopicAhead> ahead, FindTopicAhead(current, store));
    if (!ahead) return s;
    if (policy == AheadPolicy::kRefuse) return Corruption(ahead->Describe());
    // The next number whose topic is not on the brokers: a generation lost with a restore of the
    // store left its topic (and its consumer groups' offsets) behind.
    ASSIGN_OR_RETURN(auto reader, OpenReader(bus));
    auto topics = Topics(*reader);
    reader->close();
    if (!topics.ok()) return topics.status();
    int n = s.generation.number + 1;
    while (topics->contains(GenerationTopic(base, n))) ++n;
    TopicGeneration next{n, GenerationTopic(base, n), store.Head()};
    BusOptions created = bus;
    created.topic = next.topic;
    RETURN_IF_ERROR(EnsureTopic(created));
    RETURN_IF_ERROR(store_db
                        .Query("INSERT INTO bus_generations(base, generation, topic, replayed_through, reason) "
                               "VALUES ($1, $2, $3, $4, $5)",
                               {Param::Text(base), Param::Int(n), Param::Text(next.topic),
                                Param::Int(static_cast<std::int64_t>(next.replayed_through.value())),
                                Param::Text(ahead->Describe())})
                        .status());
    s.started = ahead->Describe() + "; the bus moved to a new topic generation, " + next.topic +
                ", into which the relay publishes the store's history from position 1 (events up to " +
                std::to_string(next.replayed_through.value()) + " again)";
    s.generation = std::move(next);
    return s;
  };
  auto settled = settle();
  if (!settled.ok()) {
    (void)store_db.Exec("ROLLBACK");
    return settled.status();
  }
  RETURN_IF_ERROR(store_db.Exec("COMMIT"));
  return settled;
}

}  // namespace cqrs::kafka
