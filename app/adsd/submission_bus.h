// SubmissionBus: the optimized pipeline on Kafka, as a process wires it (ads/bus_submission.h).
//
// A write process publishes submissions to the submissions topic (Publisher(): the pipeline's
// options); a worker process stores and judges them as one member of the ingest consumer group
// (StartIngest()). A process of role `all` does both. The outcomes of ingested submissions are
// counted for /metrics (adsd_ingest_submissions_total{outcome}).
//
// Thread-safety: as its parts (AsyncPublisher, BusConsumer); the counters are atomic.
// Lifecycle: destroy the ingest consumer (StopIngest) before the worker it feeds.
#pragma once

#include <array>
#include <atomic>
#include <memory>

#include "ads/submission_ingest.h"
#include "ads/write/pipeline.h"
#include "ads/write/recent_keys.h"
#include "cqrs/kafka/async_publisher.h"
#include "cqrs/kafka/consumer.h"
#include "http/metrics.h"

namespace adsd::app {

class SubmissionBus {
 public:
  // `bus` names the events topic; submissions travel on SubmissionsTopic(bus.topic), created
  // here when missing. `metrics` must outlive this.
  static cqrs::Result<std::unique_ptr<SubmissionBus>> Open(const cqrs::kafka::BusOptions& bus, http::Metrics& metrics);
  ~SubmissionBus();

  // The write side: what MakePublishToBusPipeline needs (the publisher opens on first use).
  cqrs::Result<ads::PublishToBusOptions> PipelineOptions(ads::BlockingExecutor blocking);

  // The worker side: joins the ingest group with `lanes` submissions at once.
  cqrs::Status StartIngest(cqrs::EventStore& store, ads::ValidationWorker& worker, const ads::LatencyModel* latency,
                           int lanes);
  void StopIngest();
  // The ingest consumer, when started (readiness).
  const cqrs::kafka::BusConsumer* ingest() const { return ingest_consumer_.get(); }

 private:
  static constexpr std::array<std::string_view, 4> kOutcomes = {"stored", "redelivered", "key_conflict", "invalid"};
  SubmissionBus(cqrs::kafka::BusOptions bus, http::Metrics& metrics) : bus_(std::move(bus)), metrics_(metrics) {}
  void Count(std::string_view outcome);

  const cqrs::kafka::BusOptions bus_;  // topic: the submissions topic
  http::Metrics& metrics_;
  ads::RecentKeys recent_;
  std::unique_ptr<cqrs::kafka::AsyncPublisher> publisher_;
  std::unique_ptr<ads::SubmissionIngest> ingest_;
  std::unique_ptr<cqrs::kafka::BusConsumer> ingest_consumer_;
  // Shared with the metrics gauge, which may be read after this is gone.
  using Counts = std::array<std::atomic<std::uint64_t>, kOutcomes.size()>;
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

}  // namespace adsd::app
