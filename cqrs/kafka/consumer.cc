#include "cqrs/kafka/consumer.h"

#include <map>

#include "cqrs/core/thread_name.h"
#include "cqrs/kafka/event_codec.h"

namespace cqrs::kafka {

class BusConsumer::Rebalance : public RdKafka::RebalanceCb {
 public:
  explicit Rebalance(BusConsumer& c) : c_(c) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      consumer->assign(partitions);
      c_.assigned_.store(static_cast<int>(partitions.size()));
    } else {
      // Partitions go away: finish and commit what was taken from them before letting go.
      c_.Commit(/*all=*/true);
      consumer->unassign();
      c_.assigned_.store(0);
    }
  }

 private:
  BusConsumer& c_;
};

BusConsumer::BusConsumer(ConsumerOptions options, BusEventHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

Result<std::unique_ptr<BusConsumer>> BusConsumer::Start(ConsumerOptions options, BusEventHandler handler) {
  RETURN_IF_ERROR(EnsureTopic(options.bus));
  std::unique_ptr<BusConsumer> c(new BusConsumer(std::move(options), std::move(handler)));
  const auto& o = c->options_;
  c->rebalance_ = std::make_unique<Rebalance>(*c);
  ASSIGN_OR_RETURN(auto conf,
                   MakeConf(o.bus, {{"group.id", o.group},
                                    {"enable.auto.commit", "false"},
                                    {"auto.offset.reset", "earliest"},
                                    {"session.timeout.ms", std::to_string(o.session_timeout.count())},
                                    {"heartbeat.interval.ms", std::to_string(std::max<long>(100, o.session_timeout.count() / 6))},
                                    {"enable.partition.eof", "false"}}));
  std::string err;
  if (conf->set("rebalance_cb", c->rebalance_.get(), err) != RdKafka::Conf::CONF_OK) return Internal("bus: " + err);
  c->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c->consumer_) return Unavailable("bus: consumer: " + err);
  if (RdKafka::ErrorCode rc = c->consumer_->subscribe({o.bus.topic}); rc != RdKafka::ERR_NO_ERROR) {
    return Unavailable("bus: subscribe " + o.bus.topic + ": " + RdKafka::err2str(rc));
  }
  const int lanes = std::max(1, o.lanes);
  // A small window: on reassignment everything in it is finished before partitions move.
  c->lanes_ = std::make_unique<projection::KeyedLanes>(lanes, static_cast<std::size_t>(32 * lanes));
  c->thread_ = std::thread([p = c.get()] {
    NameThisThread("bus-consumer");
    p->Run();
  });
  return c;
}

BusConsumer::~BusConsumer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  lanes_.reset();
}

Status BusConsumer::status() const {
  // A bus error counts once it has lasted: librdkafka reports passing ones (a broker connection
  // being set up, a topic's metadata not there yet) and gets over them by itself.
  constexpr auto kLasting = std::chrono::seconds(5);
  std::lock_guard lock(mu_);
  if (!failure_.ok()) return failure_;
  if (!transient_.ok() && std::chrono::steady_clock::now() - transient_since_ >= kLasting) return transient_;
  return Status::Ok();
}

void BusConsumer::Fail(Status st) {
  std::lock_guard lock(mu_);
  if (failure_.ok()) failure_ = std::move(st);
}

void BusConsumer::Run() {
  constexpr auto kCommitEvery = std::chrono::milliseconds(100);
  auto last_commit = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    {
      std::lock_guard lock(mu_);
      if (!failure_.ok()) break;
    }
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    if (m->err() == RdKafka::ERR_NO_ERROR || m->err() == RdKafka::ERR__TIMED_OUT) {
      if (m->err() == RdKafka::ERR_NO_ERROR) Dispatch(*m);
      std::lock_guard lock(mu_);
      transient_ = Status::Ok();  // the bus answers (a quiet bus times out without an error)
    } else {
      std::lock_guard lock(mu_);
      if (transient_.ok()) transient_since_ = std::chrono::steady_clock::now();
      transient_ = Unavailable("bus: " + m->errstr());  // librdkafka reconnects by itself
    }
    if (std::chrono::steady_clock::now() - last_commit >= kCommitEvery) {
      Commit(/*all=*/false);
      last_commit = std::chrono::steady_clock::now();
    }
  }
  // Leaving: finish what is in flight (unless the handler failed), commit, leave the group (the
  // rebalance callback commits once more as the partitions are revoked).
  {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) lanes_->Stop();
  }
  Commit(/*all=*/true);
  consumer_->close();
}

void BusConsumer::Dispatch(RdKafka::Message& m) {
  const std::uint64_t seq = ++seq_;
  in_flight_.push_back({seq, m.partition(), m.offset()});
  auto e = DecodeEvent(std::string_view(static_cast<const char*>(m.payload()), m.len()));
  if (!e.ok()) {
    // Not ours (a foreign or damaged message): nothing to do, and nothing to wait for.
    lanes_->Skip(Position(seq));
    return;
  }
  // The key is copied before the event moves into the work item (argument order is unspecified).
  const std::string key = e->stream;
  lanes_->Dispatch(Position(seq), key, [this, seq, ev = std::move(*e)] {
    Status st = handler_(ev);
    if (!st.ok()) return Fail(st);
    handled_.fetch_add(1);
    lanes_->Done(Position(seq));
  });
}

void BusConsumer::Commit(bool all) {
  if (in_flight_.empty()) return;
  if (all) {
    bool failed;
    {
      std::lock_guard lock(mu_);
      failed = !failure_.ok();
    }
    if (!failed) lanes_->WaitFor(Position(seq_), std::chrono::steady_clock::now() + std::chrono::minutes(5));
  }
  const std::uint64_t done = lanes_->watermark().value();
  std::map<std::int32_t, std::int64_t> next;  // partition -> next offset to read
  while (!in_flight_.empty() && in_flight_.front().seq <= done) {
    next[in_flight_.front().partition] = in_flight_.front().offset + 1;
    in_flight_.pop_front();
  }
  if (next.empty()) return;
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [partition, offset] : next) {
    offsets.push_back(RdKafka::TopicPartition::create(options_.bus.topic, partition, offset));
  }
  const RdKafka::ErrorCode rc = consumer_->commitSync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  if (rc != RdKafka::ERR_NO_ERROR) {
    // Not fatal: a later commit covers these offsets, or the next owner redoes them.
    std::lock_guard lock(mu_);
    transient_ = Unavailable("bus: commit: " + RdKafka::err2str(rc));
  }
}

}  // namespace cqrs::kafka
