#include "cqrs/kafka/relay.h"

#include "cqrs/core/thread_name.h"
#include "cqrs/kafka/generation.h"
#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/postgres/checkpoints.h"

namespace cqrs::kafka {

Result<std::unique_ptr<BusRelay>> BusRelay::Start(const EventStore& store, RelayOptions options) {
  RETURN_IF_ERROR(EnsureTopic(options.bus));
  std::unique_ptr<BusRelay> r(new BusRelay(store, std::move(options)));
  r->thread_ = std::thread([p = r.get()] {
    NameThisThread("bus-relay");
    p->Run();
  });
  return r;
}

BusRelay::~BusRelay() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

Status BusRelay::status() const { return status_.Get(); }

void BusRelay::SetStatus(Status st) { status_.Set(std::move(st)); }

void BusRelay::Pause(std::chrono::milliseconds d) const { PauseUnlessStopped(stop_, d); }

void BusRelay::Run() {
  std::unique_ptr<pg::Connection> conn;
  std::unique_ptr<Publisher> publisher;
  const std::int64_t key = pg::AdvisoryLockKey("adsd relay " + options_.name);
  while (!stop_.load()) {
    if (!leader_.load()) {
      conn.reset();
      auto c = pg::Connection::Open(options_.postgres_url);
      if (!c.ok()) {
        SetStatus(c.status());
        Pause(std::chrono::milliseconds(500));
        continue;
      }
      auto got = pg::TryAdvisoryLock(**c, key);
      if (!got.ok() || !*got) {
        if (!got.ok()) SetStatus(got.status());
        Pause(std::chrono::milliseconds(500));
        continue;
      }
      // Before the first publish of a leadership: the topic still the current generation's, and
      // not holding events the store no longer has (the store went back in time).
      if (Status st = CheckBeforeLeading(**c); !st.ok()) {
        SetStatus(st);
        Pause(std::chrono::seconds(5));  // the lock goes with the connection meanwhile
        continue;
      }
      auto at = (*c)->Query("SELECT position FROM checkpoints WHERE name = $1", {pg::Param::Text(options_.name)});
      if (!at.ok()) {
        SetStatus(at.status());
        continue;
      }
      published_.store(at->empty() ? 0 : static_cast<std::uint64_t>(at->Int(0, 0)));
      sent_ = published_.load();
      in_flight_.reset();  // a batch of an earlier leadership: published again from the checkpoint
      conn = std::move(*c);
      leader_.store(true);
    }
    if (!publisher || restart_) {
      // A producer whose messages timed out while the brokers were away may be left in a state
      // it does not recover from: a new one publishes again from the checkpoint.
      publisher.reset();
      in_flight_.reset();
      sent_ = published_.load();
      restart_ = false;
      auto p = Publisher::Open(options_.bus);
      if (!p.ok()) {
        SetStatus(p.status());
        Pause(std::chrono::milliseconds(500));
        continue;
      }
      publisher = std::move(*p);
    }
    Step(*conn, *publisher);
  }
}

Status BusRelay::CheckBeforeLeading(pg::Connection& conn) {
  if (!options_.generation_base.empty()) {
    ASSIGN_OR_RETURN(TopicGeneration current, CurrentGeneration(conn, options_.generation_base));
    if (current.topic != options_.bus.topic) {
      return Corruption("the bus moved to topic generation " + std::to_string(current.number) + " (topic " +
                        current.topic + ") and this relay publishes to " + options_.bus.topic +
                        ": it publishes nothing; restart this process");
    }
  }
  // A newest event past this process's head may have been numbered by another an instant ago.
  ASSIGN_OR_RETURN(std::optional<TopicAhead> ahead, FindTopicAhead(options_.bus, store_, std::chrono::seconds(2)));
  if (ahead) {
    return Corruption(ahead->Describe() + " (the event store went back in time): the relay publishes nothing to it" +
                      (options_.ahead_remedy.empty() ? "" : "; " + options_.ahead_remedy));
  }
  return Status::Ok();
}

void BusRelay::Step(pg::Connection& conn, Publisher& publisher) {
  // Read while the previous batch is in flight: the store's round trip overlaps the brokers'.
  const Position next(sent_ + 1);
  auto batch = store_.ReadAll(next, options_.max_batch);
  if (!batch.ok()) {
    SetStatus(batch.status());
    Pause(std::chrono::milliseconds(200));
    return;
  }
  if (batch->empty()) {
    if (in_flight_) {
      Checkpoint(conn, publisher);
    } else {
      store_.WaitForPosition(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    }
    return;
  }
  if (options_.before_publish) options_.before_publish();
  auto sent = publisher.Send(*batch);
  if (!sent.ok()) {
    SetStatus(sent.status());
    restart_ = true;
    Pause(std::chrono::milliseconds(200));
    return;
  }
  if (options_.on_batch) options_.on_batch(batch->size());
  const std::uint64_t last = batch->back().position.value();
  sent_ = last;
  if (in_flight_ && !Checkpoint(conn, publisher)) return;
  in_flight_ = InFlight{std::move(*sent), last};
}

bool BusRelay::Checkpoint(pg::Connection& conn, Publisher& publisher) {
  InFlight flying = std::move(*in_flight_);
  in_flight_.reset();
  if (Status st = publisher.Await(flying.batch); !st.ok()) {
    SetStatus(st);
    restart_ = true;
    Pause(std::chrono::milliseconds(200));
    return false;
  }
  // With the hash of the event at it (cqrs/store/postgres/checkpoints.h).
  auto saved = conn.Query(kSaveNamedCheckpointSql,
                          {pg::Param::Text(options_.name), pg::Param::Int(static_cast<std::int64_t>(flying.last))});
  if (!saved.ok()) {
    // The lock may be gone with the connection: another relay may lead now. Start over.
    SetStatus(saved.status());
    leader_.store(false);
    return false;
  }
  published_.store(flying.last);
  SetStatus(Status::Ok());
  return true;
}

}  // namespace cqrs::kafka
