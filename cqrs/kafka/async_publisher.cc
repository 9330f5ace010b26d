#include "cqrs/kafka/async_publisher.h"

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

Result<std::unique_ptr<AsyncPublisher>> AsyncPublisher::Open(const BusOptions& bus, std::string topic) {
  std::unique_ptr<AsyncPublisher> p(new AsyncPublisher());
  p->topic_ = std::move(topic);
  p->reports_ = std::make_unique<Reports>(p->in_flight_);
  // linger.ms=0: each message leaves at once, and concurrent ones still share requests, as they
  // queue behind the (up to five) requests in flight per broker. Measured on the write path
  // (docs/benchmarks.md): linger 1 ms halved the rate (7.2 k against 13-16 k POST/s) because every
  // answer waited for the timer.
  ASSIGN_OR_RETURN(p->producer_,
                   OpenProducer(bus, p->reports_.get(), std::chrono::milliseconds(0), std::chrono::seconds(10)));
  p->thread_ = std::thread([raw = p.get()] { raw->Serve(); });
  return p;
}

AsyncPublisher::~AsyncPublisher() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (!producer_) return;
  producer_->flush(5000);
  // What is still queued is given up: its reports (ERR__PURGE_*) tell the callers.
  producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_->poll(0);
}

void AsyncPublisher::Serve() {
  while (!stop_.load()) producer_->poll(50);
}

void AsyncPublisher::Send(const BusMessage& m, Acknowledged done) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const BusHeader& h : m.headers) headers->add(h.name, h.value.data(), h.value.size());
  auto opaque = std::make_unique<Acknowledged>(std::move(done));
  in_flight_.fetch_add(1);
  const RdKafka::ErrorCode rc = producer_->produce(topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                                   const_cast<char*>(m.value.data()), m.value.size(), m.key.data(),
                                                   m.key.size(), m.timestamp_ms, headers.get(), opaque.get());
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
