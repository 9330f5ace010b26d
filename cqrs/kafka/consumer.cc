#include "cqrs/kafka/consumer.h"

#include <limits>
#include <map>

#include "cqrs/core/thread_name.h"
#include "cqrs/kafka/event_codec.h"

namespace cqrs::kafka {

namespace {
constexpr auto kCommitEvery = std::chrono::milliseconds(100);
// How long a revoke or a stop waits for the events in flight to settle.
constexpr auto kDrainLimit = std::chrono::minutes(5);
}  // namespace

class BusConsumer::Rebalance : public RdKafka::RebalanceCb {
 public:
  explicit Rebalance(BusConsumer& c) : c_(c) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      c_.first_new_.clear();
      bool answered = true;
      for (const RdKafka::TopicPartition* p : partitions) {
        // Everything below the partition's end now may have reached an earlier owner, which
        // has given the partition up by now (the group revokes before it assigns): from the
        // end on, a message is a first delivery. Unknown end: nothing is (and after one query
        // goes unanswered the others are not waited for).
        std::int64_t low = 0, high = 0;
        answered = answered && consumer->query_watermark_offsets(p->topic(), p->partition(), &low, &high, 5000) ==
                                   RdKafka::ERR_NO_ERROR;
        c_.first_new_[p->partition()] = answered ? high : std::numeric_limits<std::int64_t>::max();
      }
      consumer->assign(partitions);
      c_.assigned_.store(static_cast<int>(partitions.size()));
    } else {
      // Partitions go away: settle and commit what was taken from them before letting go.
      c_.Commit(CommitMode::kDrainAndWait);
      // What did not settle in time is the next owner's to redo: never commit it from here.
      c_.ledger_.Clear();
      consumer->unassign();
      c_.assigned_.store(0);
    }
  }

 private:
  BusConsumer& c_;
};

// The answer to a commitAsync, served by the poll thread's next consume().
class BusConsumer::CommitResult : public RdKafka::OffsetCommitCb {
 public:
  explicit CommitResult(BusConsumer& c) : c_(c) {}
  void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>&) override {
    // Not fatal: a later commit covers these offsets, or the next owner redoes them.
    if (err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET) {
      c_.SetTransient(Unavailable("bus: commit: " + RdKafka::err2str(err)));
    }
  }

 private:
  BusConsumer& c_;
};

BusConsumer::BusConsumer(ConsumerOptions options, consumer::DeliveryHandler handler) : options_(std::move(options)) {
  const int lanes = std::max(1, options_.lanes);
  // A small window: on reassignment everything in it is settled before partitions move.
  dispatcher_ = std::make_unique<consumer::Dispatcher>(
      std::move(handler), consumer::DispatcherOptions{.lanes = lanes,
                                                      .max_in_flight = static_cast<std::size_t>(32 * lanes),
                                                      .retry = options_.retry,
                                                      .filter = options_.filter});
}

Result<std::unique_ptr<BusConsumer>> BusConsumer::Start(ConsumerOptions options, consumer::Handler handler) {
  return Start(std::move(options),
               consumer::DeliveryHandler(
                   [handler = std::move(handler)](const RecordedEvent& e, consumer::Delivery,
                                                  consumer::Completion done) { handler(e, std::move(done)); }));
}

Result<std::unique_ptr<BusConsumer>> BusConsumer::Start(ConsumerOptions options, consumer::DeliveryHandler handler) {
  RETURN_IF_ERROR(EnsureTopic(options.bus));
  std::unique_ptr<BusConsumer> c(new BusConsumer(std::move(options), std::move(handler)));
  const auto& o = c->options_;
  c->rebalance_ = std::make_unique<Rebalance>(*c);
  c->commit_result_ = std::make_unique<CommitResult>(*c);
  ASSIGN_OR_RETURN(
      auto conf,
      MakeConf(o.bus, {{"group.id", o.group},
                       {"enable.auto.commit", "false"},
                       {"auto.offset.reset", "earliest"},
                       {"session.timeout.ms", std::to_string(o.session_timeout.count())},
                       {"heartbeat.interval.ms", std::to_string(std::max<long>(100, o.session_timeout.count() / 6))},
                       {"enable.partition.eof", "false"}}));
  std::string err;
  if (conf->set("rebalance_cb", c->rebalance_.get(), err) != RdKafka::Conf::CONF_OK) return Internal("bus: " + err);
  if (conf->set("offset_commit_cb", c->commit_result_.get(), err) != RdKafka::Conf::CONF_OK) {
    return Internal("bus: " + err);
  }
  c->consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c->consumer_) return Unavailable("bus: consumer: " + err);
  if (RdKafka::ErrorCode rc = c->consumer_->subscribe({o.bus.topic}); rc != RdKafka::ERR_NO_ERROR) {
    return Unavailable("bus: subscribe " + o.bus.topic + ": " + RdKafka::err2str(rc));
  }
  c->thread_ = std::thread([p = c.get()] {
    NameThisThread("bus-consumer");
    p->Run();
  });
  return c;
}

BusConsumer::~BusConsumer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  dispatcher_->Stop();
}

Status BusConsumer::status() const {
  // A bus error counts once it has lasted: librdkafka reports passing ones (a broker connection
  // being set up, a topic's metadata not there yet) and gets over them by itself.
  constexpr auto kLasting = std::chrono::seconds(5);
  if (Status st = dispatcher_->status(); !st.ok()) return st;
  MutexLock lock(mu_);
  if (!transient_.ok() && std::chrono::steady_clock::now() - transient_since_ >= kLasting) return transient_;
  return Status::Ok();
}

void BusConsumer::SetTransient(Status st) {
  MutexLock lock(mu_);
  if (transient_.ok()) transient_since_ = std::chrono::steady_clock::now();
  transient_ = std::move(st);
}

void BusConsumer::Run() {
  auto last_commit = std::chrono::steady_clock::now();
  while (!stop_.load() && dispatcher_->status().ok()) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    if (m->err() == RdKafka::ERR_NO_ERROR || m->err() == RdKafka::ERR__TIMED_OUT) {
      if (m->err() == RdKafka::ERR_NO_ERROR) Take(*m);
      MutexLock lock(mu_);
      transient_ = Status::Ok();  // the bus answers (a quiet bus times out without an error)
    } else {
      SetTransient(Unavailable("bus: " + m->errstr()));  // librdkafka reconnects by itself
    }
    if (std::chrono::steady_clock::now() - last_commit >= kCommitEvery) {
      Commit(CommitMode::kAsync);
      last_commit = std::chrono::steady_clock::now();
    }
  }
  // Leaving: the handler calls in flight settle (a retry pause is not waited out, and events not
  // started are left to the next owner), what settled is committed, then the member leaves the
  // group (the rebalance callback finds nothing more to commit).
  dispatcher_->Stop();
  Commit(CommitMode::kDrainAndWait);
  consumer_->close();
}

namespace {
// The message's headers as the codec reads them (a header without a value reads as empty).
std::vector<BusHeader> HeadersOf(RdKafka::Message& m) {
  std::vector<BusHeader> out;
  RdKafka::Headers* headers = m.headers();  // owned by the message
  if (headers == nullptr) return out;
  for (const RdKafka::Headers::Header& h : headers->get_all()) {
    const char* v = static_cast<const char*>(h.value());
    out.push_back({h.key(), v == nullptr ? std::string() : std::string(v, h.value_size())});
  }
  return out;
}
}  // namespace

void BusConsumer::Take(RdKafka::Message& m) {
  const std::vector<BusHeader> headers = HeadersOf(m);
  auto e = DecodeEvent(headers, std::string_view(static_cast<const char*>(m.payload()), m.len()));
  // Not ours (a foreign or damaged message): nothing to do, and nothing to wait for.
  const auto first_new = first_new_.find(m.partition());
  const bool republished = e.ok() && e->position.value() > 0 && e->position <= options_.maybe_repeated_through;
  const consumer::Delivery delivery = first_new != first_new_.end() && m.offset() >= first_new->second && !republished
                                          ? consumer::Delivery::kFirst
                                          : consumer::Delivery::kMaybeRepeated;
  const std::optional<consumer::Ticket> ticket =
      e.ok() ? dispatcher_->Dispatch(std::move(*e), delivery) : dispatcher_->Skip();
  if (!ticket) return;  // stopped or failed: not taken, so never committed
  last_taken_ = *ticket;
  ledger_.Record(*ticket, {m.partition(), m.offset()});
}

void BusConsumer::Commit(CommitMode mode) {
  if (ledger_.empty()) return;
  if (mode == CommitMode::kDrainAndWait && dispatcher_->status().ok()) {
    dispatcher_->WaitFor(last_taken_, std::chrono::steady_clock::now() + kDrainLimit);
  }
  std::map<std::int32_t, std::int64_t> next;  // partition -> next offset to read
  ledger_.Settle(dispatcher_->watermark(), [&](const PartitionOffset& at) { next[at.partition] = at.offset + 1; });
  if (next.empty()) return;
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [partition, offset] : next) {
    offsets.push_back(RdKafka::TopicPartition::create(options_.bus.topic, partition, offset));
  }
  const RdKafka::ErrorCode rc =
      mode == CommitMode::kAsync ? consumer_->commitAsync(offsets) : consumer_->commitSync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  // Not fatal: a later commit covers these offsets, or the next owner redoes them.
  if (rc != RdKafka::ERR_NO_ERROR) SetTransient(Unavailable("bus: commit: " + RdKafka::err2str(rc)));
}

}  // namespace cqrs::kafka
