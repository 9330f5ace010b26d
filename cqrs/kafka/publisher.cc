#include "cqrs/kafka/publisher.h"

#include <atomic>
#include <mutex>

#include "cqrs/kafka/event_codec.h"

namespace cqrs::kafka {

// Delivery reports: how many of the current batch failed, and the first error.
class Publisher::Reports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) return;
    std::lock_guard lock(mu_);
    if (first_error_.empty()) first_error_ = m.errstr();
    ++failed_;
  }
  // The failures since the last call.
  std::pair<int, std::string> Take() {
    std::lock_guard lock(mu_);
    auto out = std::make_pair(failed_, first_error_);
    failed_ = 0;
    first_error_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  int failed_ = 0;
  std::string first_error_;
};

Result<std::unique_ptr<Publisher>> Publisher::Open(const BusOptions& bus) {
  std::unique_ptr<Publisher> p(new Publisher());
  p->bus_ = bus;
  p->reports_ = std::make_unique<Reports>();
  ASSIGN_OR_RETURN(auto conf, MakeConf(bus, {{"enable.idempotence", "true"},
                                             {"acks", "all"},
                                             {"linger.ms", "1"},
                                             {"partitioner", "murmur2_random"},
                                             {"message.timeout.ms", "30000"}}));
  std::string err;
  if (conf->set("dr_cb", p->reports_.get(), err) != RdKafka::Conf::CONF_OK) return Internal("bus: " + err);
  p->producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!p->producer_) return Unavailable("bus: producer: " + err);
  return p;
}

Publisher::~Publisher() {
  if (producer_) producer_->flush(5000);
}

Status Publisher::Publish(std::span<const RecordedEvent> events) {
  reports_->Take();
  for (const RecordedEvent& e : events) {
    std::string value = EncodeEvent(e);
    while (true) {
      const RdKafka::ErrorCode rc =
          producer_->produce(bus_.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, value.data(),
                             value.size(), e.stream.data(), e.stream.size(), e.timestamp_us / 1000, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) break;
      if (rc != RdKafka::ERR__QUEUE_FULL) return Unavailable("bus: produce: " + RdKafka::err2str(rc));
      producer_->poll(10);  // the local queue is full: let deliveries drain it
    }
  }
  const RdKafka::ErrorCode flushed = producer_->flush(30'000);
  auto [failed, first] = reports_->Take();
  if (flushed != RdKafka::ERR_NO_ERROR) return Unavailable("bus: not acknowledged in 30 s: " + RdKafka::err2str(flushed));
  if (failed > 0) return Unavailable("bus: " + std::to_string(failed) + " events not delivered: " + first);
  return Status::Ok();
}

}  // namespace cqrs::kafka
