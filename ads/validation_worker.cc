#include "ads/validation_worker.h"

#include <thread>

#include "ads/events.h"

namespace adsd::ads {

namespace {
using Clock = LatencyModel::Clock;
}  // namespace

ValidationWorker::ValidationWorker(cqrs::EventStore& store, cqrs::log::ConsumerOffsets& offsets,
                                   const RuleEngine& rules, ExternalValidator* external,
                                   ValidationWorkerOptions options)
    : store_(store), offsets_(offsets), rules_(rules), external_(external), options_(std::move(options)) {}

ValidationWorker::~ValidationWorker() {
  stopping_.store(true);  // waits give up, so the consumer's calls in flight settle soon
  consumer_.reset();      // settles, then commits what is durable
}

cqrs::Status ValidationWorker::Start() {
  const int lanes = std::max(1, options_.concurrency);
  cqrs::consumer::StoreConsumerOptions o;
  o.group = std::string(kGroup);
  o.dispatch.lanes = lanes;
  o.dispatch.max_in_flight = std::max<std::size_t>(4096, 64 * static_cast<std::size_t>(lanes));
  o.dispatch.filter = &Judges;
  ASSIGN_OR_RETURN(consumer_,
                   cqrs::consumer::StoreConsumer::Start(
                       store_, offsets_,
                       cqrs::consumer::DeliveryHandler(
                           [this](const cqrs::RecordedEvent& e, cqrs::consumer::Delivery delivery,
                                  cqrs::consumer::Completion done) { Consume(e, delivery, std::move(done)); }),
                       std::move(o)));
  return cqrs::Status::Ok();
}

cqrs::Position ValidationWorker::position() const { return consumer_ ? consumer_->position() : cqrs::Position(0); }

cqrs::Status ValidationWorker::status() const { return consumer_ ? consumer_->status() : cqrs::Status::Ok(); }

bool ValidationWorker::Judges(const cqrs::RecordedEvent& e) {
  return e.type == events::kSubmitted || e.type == events::kChanged;
}

void ValidationWorker::Pad(Step step, Clock::time_point began) const {
  if (options_.latency != nullptr) options_.latency->Pad(step, began);
}

cqrs::Result<std::optional<ValidationWorker::Verdict>> ValidationWorker::Judge(const cqrs::RecordedEvent& e) {
  if (!Judges(e)) return std::optional<Verdict>();
  ASSIGN_OR_RETURN(events::AdContent content, events::ParseContent(e.payload));
  ads::Verdict verdict;
  {
    cqrs::MutexLock lock(flood_mu_);
    verdict =
        rules_.Evaluate(content.ad, {content.retailer, e.timestamp_us / 1'000'000, e.event_id.ToString()}, floods_);
  }
  if (external_ != nullptr) {
    ASSIGN_OR_RETURN(std::vector<Finding> more, external_->Validate(content.ad, content.retailer));
    for (auto& f : more) verdict.findings.push_back(std::move(f));
    verdict.approved = verdict.approved && more.empty();
  }
  Verdict v;
  v.stream = e.stream;
  v.expected = e.version;
  v.event.event_id = events::DerivedId(e.event_id, "verdict");
  v.event.type = std::string(verdict.approved ? events::kApproved : events::kRejected);
  v.event.schema_version = events::kSchemaVersion;
  v.event.payload = events::VerdictPayload(verdict.findings);
  v.event.correlation_id = e.correlation_id.is_nil() ? e.event_id : e.correlation_id;
  v.event.causation_id = e.event_id;
  return std::optional<Verdict>(std::move(v));
}

cqrs::Result<bool> ValidationWorker::NeedsVerdict(const cqrs::RecordedEvent& e) const {
  // Anything after the event (its verdict, a change judged on its own, a withdrawal) settles it.
  // (A read that can fail, not GetStreamVersion: a store that is down must not be taken for
  // "nothing after it", nor make a stopping worker wait.)
  checked_.fetch_add(1);
  ASSIGN_OR_RETURN(auto after, store_.ReadStream(e.stream, e.version.next(), 1));
  return after.empty();
}

void ValidationWorker::AwaitGrace(const cqrs::RecordedEvent& e) const {
  if (options_.grace.count() == 0) return;
  const auto appended = std::chrono::system_clock::time_point(std::chrono::microseconds(e.timestamp_us));
  while (!stopping_.load() && std::chrono::system_clock::now() < appended + options_.grace) {
    std::this_thread::sleep_until(
        std::min(appended + options_.grace, std::chrono::system_clock::now() + std::chrono::milliseconds(100)));
  }
}

cqrs::Status ValidationWorker::Settle(const cqrs::Result<cqrs::AppendResult>& r) {
  pending_.fetch_sub(1);
  if (!r.ok() || r->idempotent_replay) decided_.fetch_sub(1);  // counted when issued: take it back
  // Expected version = the judged event's: a redelivery is recognized (same id) and a verdict on
  // a version that has changed since is a conflict, dropped: the change is judged on its own.
  if (!r.ok() && r.status().code() != cqrs::StatusCode::kVersionConflict) return r.status();
  return cqrs::Status::Ok();
}

void ValidationWorker::JudgeAndAppend(const cqrs::RecordedEvent& e, Path path, cqrs::consumer::Delivery delivery,
                                      const std::function<void()>& stored, cqrs::consumer::Completion done) {
  if (!Judges(e)) return done(cqrs::Status::Ok());
  const bool modeled = options_.latency != nullptr && options_.latency->enabled();
  if (path == Path::kConsumed) {
    AwaitGrace(e);
    if (stopping_.load()) return done(cqrs::Unavailable("validation worker stopping"));
    // The read is a saving, not what makes a verdict unique (the append's id and expected
    // version do): it spares judging again, and the external call, what was decided already.
    // Only worth a round trip where that may be so: a redelivery, or in the sync pipeline, where
    // the request decides first and the worker takes over after the grace.
    if (delivery == cqrs::consumer::Delivery::kMaybeRepeated || options_.grace.count() > 0) {
      auto needed = NeedsVerdict(e);
      if (!needed.ok()) return done(needed.status());
      if (!*needed) return done(cqrs::Status::Ok());
    }
  }
  Clock::time_point began = Clock::now();
  if (path == Path::kConsumed && options_.await_stored && modeled) {
    options_.await_stored(e.position);
    Pad(Step::kStoreIncomingRecord, began);
    began = Clock::now();
  }
  auto v = Judge(e);
  if (!v.ok()) return done(stopping_.load() ? cqrs::Unavailable("validation worker stopping") : v.status());
  if (!*v) return done(cqrs::Status::Ok());
  Pad(Step::kDetailedValidation, began);
  began = Clock::now();
  const Verdict& verdict = **v;
  // Counted before the append: once the verdict is visible in its stream, decided() includes it
  // (the store's callback may run later than a reader sees the event).
  decided_.fetch_add(1);
  const std::size_t pending = pending_.fetch_add(1) + 1;
  if (options_.on_verdict) options_.on_verdict(pending);
  if (modeled || path == Path::kInline) {
    // The step lasts until the verdict is stored (modeled latencies), or the request waits for it.
    cqrs::Status st = Settle(
        store_.Append(verdict.stream, cqrs::ExpectedVersion::Exact(verdict.expected), std::span(&verdict.event, 1)));
    if (st.ok() && stored) stored();
    Pad(Step::kStoreValidationResults, began);
    return done(std::move(st));
  }
  // Otherwise the lane moves on and the verdicts of many ads share the store's group commit; the
  // event settles on the store's callback thread (Settle and `done` do not block).
  store_.AppendAsync(verdict.stream, cqrs::ExpectedVersion::Exact(verdict.expected), std::span(&verdict.event, 1),
                     [this, began, done = std::move(done)](cqrs::Result<cqrs::AppendResult> r) {
                       cqrs::Status st = Settle(r);
                       Pad(Step::kStoreValidationResults, began);  // not modeled: timing only, never sleeps
                       done(std::move(st));
                     });
}

void ValidationWorker::Consume(const cqrs::RecordedEvent& e, cqrs::consumer::Completion done) {
  Consume(e, cqrs::consumer::Delivery::kMaybeRepeated, std::move(done));
}

void ValidationWorker::Consume(const cqrs::RecordedEvent& e, cqrs::consumer::Delivery delivery,
                               cqrs::consumer::Completion done) {
  JudgeAndAppend(e, Path::kConsumed, delivery, {}, std::move(done));
}

cqrs::Status ValidationWorker::Decide(const cqrs::RecordedEvent& e, const std::function<void()>& stored) {
  std::optional<cqrs::Status> result;
  JudgeAndAppend(e, Path::kInline, cqrs::consumer::Delivery::kFirst, stored,
                 [&result](cqrs::Status st) { result = std::move(st); });
  return std::move(*result);  // kInline settles before JudgeAndAppend returns
}

}  // namespace adsd::ads
