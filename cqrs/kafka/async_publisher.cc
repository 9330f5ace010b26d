#include "cqrs/kafka/async_publisher.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <utility>

namespace cqrs::kafka {

// Delivery reports: each message carries its callback on the heap, taken back here.
class AsyncPublisher::Reports : public RdKafka::DeliveryReportCb {
 public:
  explicit Reports(std::atomic<std::size_t>& in_flight) : in_flight_(in_flight) {}
  void dr_cb(RdKafka::Message& m) override {
    std::unique_ptr<Acknowledged> done(static_cast<Acknowledged*>(m.msg_opaque()));
    in_flight_.fetch_sub(1);
    if (!done) return;
    (*done)(m.err() == RdKafka::ERR_NO_ERROR ? Status::Ok() : Unavailable("bus: not delivered: " + m.errstr()));
  }

 private:
  std::atomic<std::size_t>& in_flight_;
};

namespace {

// linger.ms=0: each message leaves at once, and concurrent ones still share requests, as they
// queue behind the (up to five) requests in flight per broker. Measured on the write path
// (docs/benchmarks.md): linger 1 ms halved the rate (7.2 k against 13-16 k POST/s) because every
// answer waited for the timer.
Result<std::unique_ptr<RdKafka::Producer>> OpenAnswerProducer(const BusOptions& bus, RdKafka::DeliveryReportCb* r) {
  return OpenProducer(bus, r, std::chrono::milliseconds(0), std::chrono::seconds(10));
}

// Gives up what `producer` still holds (its reports, ERR__PURGE_* or ERR__FATAL, tell the callers),
// waiting up to `wait` for the reports.
void Drain(RdKafka::Producer& producer, std::chrono::milliseconds wait) {
  producer.purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  do {
    producer.poll(10);
  } while (producer.outq_len() > 0 && std::chrono::steady_clock::now() < deadline);
}

}  // namespace

Result<std::unique_ptr<AsyncPublisher>> AsyncPublisher::Open(const BusOptions& bus, std::string topic) {
  std::unique_ptr<AsyncPublisher> p(new AsyncPublisher());
  p->bus_ = bus;
  p->topic_ = std::move(topic);
  p->reports_ = std::make_unique<Reports>(p->in_flight_);
  ASSIGN_OR_RETURN(auto producer, OpenAnswerProducer(bus, p->reports_.get()));
  {
    WriterMutexLock lock(p->mu_);
    p->producer_ = std::move(producer);
  }
  p->thread_ = std::thread([raw = p.get()] { raw->Serve(); });
  return p;
}

AsyncPublisher::~AsyncPublisher() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  WriterMutexLock lock(mu_);
  if (!producer_) return;
  producer_->flush(5000);
  Drain(*producer_, std::chrono::milliseconds(1000));
}

void AsyncPublisher::Serve() {
  while (!stop_.load()) {
    std::string why;
    {
      ReaderMutexLock lock(mu_);
      producer_->poll(50);
      if (producer_->fatal_error(why) == RdKafka::ERR_NO_ERROR) continue;
    }
    ReplaceProducer(why);
  }
}

void AsyncPublisher::ReplaceProducer(const std::string& why) {
  auto fresh = OpenAnswerProducer(bus_, reports_.get());
  if (!fresh.ok()) {  // cannot happen short of memory: the next poll tries again
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return;
  }
  std::unique_ptr<RdKafka::Producer> old;
  {
    WriterMutexLock lock(mu_);
    old = std::exchange(producer_, std::move(*fresh));
  }
  replaced_.fetch_add(1);
  std::fprintf(stderr, "bus: the producer for %s failed for good (%s); replaced by a new one\n", topic_.c_str(),
               why.c_str());
  Drain(*old, std::chrono::milliseconds(5000));
}

void AsyncPublisher::InjectFatalErrorForTesting() {
  ReaderMutexLock lock(mu_);
  rd_kafka_test_fatal_error(producer_->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by a test");
}

void AsyncPublisher::Send(const BusMessage& m, Acknowledged done) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const BusHeader& h : m.headers) headers->add(h.name, h.value.data(), h.value.size());
  auto opaque = std::make_unique<Acknowledged>(std::move(done));
  in_flight_.fetch_add(1);
  RdKafka::ErrorCode rc;
  {
    ReaderMutexLock lock(mu_);  // not while a callback runs (it may Send again)
    rc = producer_->produce(topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                            const_cast<char*>(m.value.data()), m.value.size(), m.key.data(), m.key.size(),
                            m.timestamp_ms, headers.get(), opaque.get());
  }
  if (rc == RdKafka::ERR_NO_ERROR) {
    headers.release();  // the producer owns the headers now, and the report the callback
    opaque.release();
    return;
  }
  in_flight_.fetch_sub(1);
  const Status st = rc == RdKafka::ERR_MSG_SIZE_TOO_LARGE
                        ? InvalidArgument("bus: the message is larger than the topic accepts")
                        : Unavailable("bus: produce: " + RdKafka::err2str(rc));
  (*opaque)(st);
}

}  // namespace cqrs::kafka
