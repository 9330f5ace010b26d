#include "app/adsd/submission_bus.h"

#include "ads/bus_submission.h"
#include "cqrs/kafka/event_codec.h"

namespace adsd::app {

cqrs::Result<std::unique_ptr<SubmissionBus>> SubmissionBus::Open(const cqrs::kafka::BusOptions& events_bus,
                                                                 http::Metrics& metrics) {
  cqrs::kafka::BusOptions bus = events_bus;
  bus.topic = ads::SubmissionsTopic(events_bus.topic);
  RETURN_IF_ERROR(cqrs::kafka::EnsureTopic(bus));
  std::unique_ptr<SubmissionBus> s(new SubmissionBus(std::move(bus), metrics));
  metrics.AddCounter("adsd_ingest_submissions_total",
                     "Submissions taken from the submissions topic by this worker since start, by outcome.",
                     [counts = s->counts_] {
                       std::vector<http::Metrics::Sample> out;
                       for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
                         out.push_back({{{"outcome", std::string(kOutcomes[i])}},
                                        static_cast<double>((*counts)[i].load(std::memory_order_relaxed))});
                       }
                       return out;
                     });
  return s;
}

SubmissionBus::~SubmissionBus() { StopIngest(); }

void SubmissionBus::Count(std::string_view outcome) {
  for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == outcome) (*counts_)[i].fetch_add(1, std::memory_order_relaxed);
  }
}

cqrs::Result<ads::PublishToBusOptions> SubmissionBus::PipelineOptions(ads::BlockingExecutor blocking) {
  if (!publisher_) {
    ASSIGN_OR_RETURN(publisher_, cqrs::kafka::AsyncPublisher::Open(bus_, bus_.topic));
  }
  ads::PublishToBusOptions o;
  o.publish = [this](const ads::Submission& s, std::function<void(cqrs::Status)> acked) {
    // Its version once stored is 1: the first event of a new stream.
    publisher_->Send(cqrs::kafka::EncodeSubmission(s.stream, s.event, bus_.event_source, cqrs::StreamVersion(1)),
                     std::move(acked));
  };
  o.blocking = std::move(blocking);
  o.recent = &recent_;
  return o;
}

cqrs::Status SubmissionBus::StartIngest(cqrs::EventStore& store, ads::ValidationWorker& worker,
                                        const ads::LatencyModel* latency, int lanes) {
  ads::SubmissionIngestOptions io;
  io.latency = latency;
  io.on_outcome = [this](std::string_view outcome) { Count(outcome); };
  ingest_ = std::make_unique<ads::SubmissionIngest>(store, worker, std::move(io));
  cqrs::kafka::ConsumerOptions co;
  co.bus = bus_;
  // One group per topic: deployments (or tests) sharing a cluster must not rebalance each other.
  co.group = "adsd-ingest." + bus_.topic;
  co.lanes = lanes;
  ASSIGN_OR_RETURN(ingest_consumer_, cqrs::kafka::BusConsumer::Start(
                                         co, cqrs::consumer::DeliveryHandler([this](const cqrs::RecordedEvent& e,
                                                                                    cqrs::consumer::Delivery delivery,
                                                                                    cqrs::consumer::Completion done) {
                                           ingest_->Consume(e, delivery, std::move(done));
                                         })));
  return cqrs::Status::Ok();
}

void SubmissionBus::StopIngest() {
  ingest_consumer_.reset();  // settles what is in flight, commits, leaves the group
  ingest_.reset();
}

}  // namespace adsd::app
