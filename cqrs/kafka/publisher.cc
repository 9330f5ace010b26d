#include "cqrs/kafka/publisher.h"

#include <atomic>
#include <mutex>

namespace cqrs::kafka {

// What is known of one batch's deliveries. Counted down by delivery reports, which the thread
// calling poll() or flush() serves (the publisher's own), so no other thread touches it.
class Publisher::Batch {
 public:
  std::size_t pending = 0;  // messages handed over, not yet reported
  std::size_t failed = 0;
  std::string first_error;
};

// Delivery reports: each message carries a heap copy of its batch's handle (so a batch a caller
// gave up on stays valid until its last report), released here.
class Publisher::Reports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    std::unique_ptr<BatchHandle> batch(static_cast<BatchHandle*>(m.msg_opaque()));
    if (!batch) return;
    Batch& b = **batch;
    --b.pending;
    if (m.err() == RdKafka::ERR_NO_ERROR) return;
    if (b.first_error.empty()) b.first_error = m.errstr();
    ++b.failed;
  }
};

Result<std::unique_ptr<Publisher>> Publisher::Open(const BusOptions& bus) {
  std::unique_ptr<Publisher> p(new Publisher());
  p->bus_ = bus;
  p->reports_ = std::make_unique<Reports>();
  ASSIGN_OR_RETURN(p->producer_,
                   OpenProducer(bus, p->reports_.get(), std::chrono::milliseconds(1), std::chrono::seconds(30)));
  return p;
}

Publisher::~Publisher() {
  if (!producer_) return;
  producer_->flush(5000);
  // What is still queued is given up: its reports (ERR__PURGE_*) release the batch handles.
  producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_->poll(0);
}

Status Publisher::Produce(BusMessage m, const BatchHandle& batch) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  for (const BusHeader& h : m.headers) headers->add(h.name, h.value.data(), h.value.size());
  auto opaque = std::make_unique<BatchHandle>(batch);
  while (true) {
    const RdKafka::ErrorCode rc =
        producer_->produce(bus_.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, m.value.data(),
                           m.value.size(), m.key.data(), m.key.size(), m.timestamp_ms, headers.get(), opaque.get());
    if (rc == RdKafka::ERR_NO_ERROR) {
      headers.release();  // the producer owns the headers now, and the report the handle copy
      opaque.release();
      ++batch->pending;
      return Status::Ok();
    }
    if (rc != RdKafka::ERR__QUEUE_FULL) return Unavailable("bus: produce: " + RdKafka::err2str(rc));
    producer_->poll(10);  // the local queue is full: let deliveries drain it
  }
}

template <typename T, typename Encode>
Result<Publisher::BatchHandle> Publisher::SendAll(std::span<const T> items, Encode encode) {
  auto batch = std::make_shared<Batch>();
  for (const T& item : items) RETURN_IF_ERROR(Produce(encode(item), batch));
  producer_->poll(0);  // serve the reports already there; never waits
  return batch;
}

Result<Publisher::BatchHandle> Publisher::Send(std::span<const RecordedEvent> events) {
  return SendAll(events, [this](const RecordedEvent& e) { return EncodeEvent(e, bus_.event_source); });
}

Result<Publisher::BatchHandle> Publisher::Send(std::span<const BusMessage> messages) {
  return SendAll(messages, [](const BusMessage& m) { return m; });
}

Status Publisher::Await(const BatchHandle& batch, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (batch->pending > 0 && batch->failed == 0 && std::chrono::steady_clock::now() < deadline) {
    producer_->poll(5);
  }
  if (batch->failed > 0) {
    return Unavailable("bus: " + std::to_string(batch->failed) + " events not delivered: " + batch->first_error);
  }
  if (batch->pending > 0) {
    return Unavailable("bus: " + std::to_string(batch->pending) + " events not acknowledged in " +
                       std::to_string(timeout.count()) + " ms");
  }
  return Status::Ok();
}

Status Publisher::Publish(std::span<const RecordedEvent> events) {
  ASSIGN_OR_RETURN(BatchHandle batch, Send(events));
  return Await(batch);
}

Status Publisher::Publish(std::span<const BusMessage> messages) {
  ASSIGN_OR_RETURN(BatchHandle batch, Send(messages));
  return Await(batch);
}

}  // namespace cqrs::kafka
