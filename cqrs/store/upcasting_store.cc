#include "cqrs/store/upcasting_store.h"

namespace cqrs {

Upcasters& Upcasters::Add(std::string type, std::uint32_t schema_version, Upcast upcast) {
  by_key_[{std::move(type), schema_version}] = std::move(upcast);
  return *this;
}

Status Upcasters::Apply(RecordedEvent& event) const {
  // Each step raises the schema version, so the chain ends; the bound guards a buggy upcaster
  // that lowers it again.
  for (int steps = 0; steps < 1000; ++steps) {
    auto it = by_key_.find(std::pair<std::string, std::uint32_t>(event.type, event.schema_version));
    if (it == by_key_.end()) return Status::Ok();
    const std::uint32_t before = event.schema_version;
    const std::string type = event.type;
    RETURN_IF_ERROR(it->second(event));
    if (event.schema_version <= before) {
      return Internal("upcaster of " + type + " v" + std::to_string(before) + " did not raise the schema version");
    }
  }
  return Internal("upcasters of " + event.type + " loop");
}

namespace {

class UpcastingEventStore final : public EventStore {
 public:
  UpcastingEventStore(std::unique_ptr<EventStore> inner, Upcasters upcasters)
      : inner_(std::move(inner)), upcasters_(std::move(upcasters)) {}

  Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                              std::span<const EventData> events) override {
    return inner_->Append(stream, expected, events);
  }
  Result<MultiAppendResult> AppendToStreams(std::span<const StreamAppend> appends,
                                            const std::optional<AppendCondition>& condition) override {
    return inner_->AppendToStreams(appends, condition);
  }
  Result<QueryResult> Read(const Query& query, Position after, std::size_t max) const override {
    ASSIGN_OR_RETURN(QueryResult r, inner_->Read(query, after, max));
    for (RecordedEvent& e : r.events) RETURN_IF_ERROR(upcasters_.Apply(e));
    return r;
  }
  void AppendAsync(std::string_view stream, ExpectedVersion expected, std::span<const EventData> events,
                   std::function<void(Result<AppendResult>)> done) override {
    inner_->AppendAsync(stream, expected, events, std::move(done));
  }
  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream, StreamVersion from,
                                                std::size_t max) const override {
    return Upcast(inner_->ReadStream(stream, from, max));
  }
  Result<std::vector<RecordedEvent>> ReadAll(Position from, std::size_t max) const override {
    return Upcast(inner_->ReadAll(from, max));
  }
  Result<StreamVersion> GetStreamVersion(std::string_view stream) const override {
    return inner_->GetStreamVersion(stream);
  }
  Position Head() const override { return inner_->Head(); }
  bool WaitForPosition(Position p, std::chrono::steady_clock::time_point deadline) const override {
    return inner_->WaitForPosition(p, deadline);
  }
  Status Health() const override { return inner_->Health(); }
  Result<std::unique_ptr<Subscription>> Subscribe(Position from, std::size_t max_batch,
                                                  EventBatchHandler handler) override {
    return inner_->Subscribe(from, max_batch, Upcasting(std::move(handler)));
  }
  Result<std::unique_ptr<Subscription>> SubscribeToQuery(Query query, Position from, std::size_t max_batch,
                                                         EventBatchHandler handler) override {
    // The query matches the stored types: an upcaster that renames a type does not change what
    // it finds (as for Read(query)).
    return inner_->SubscribeToQuery(std::move(query), from, max_batch, Upcasting(std::move(handler)));
  }

 private:
  // The batch is the inner store's; the handler gets upcast copies (only when an upcaster
  // matches one of them).
  EventBatchHandler Upcasting(EventBatchHandler handler) const {
    return [this, handler = std::move(handler)](std::span<const RecordedEvent> batch) -> Status {
      std::vector<RecordedEvent> copy;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        RecordedEvent e = batch[i];
        RETURN_IF_ERROR(upcasters_.Apply(e));
        if (copy.empty() && e.schema_version == batch[i].schema_version && e.type == batch[i].type) {
          continue;  // unchanged so far: no copy yet
        }
        if (copy.empty()) copy.assign(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(i));
        copy.push_back(std::move(e));
      }
      return copy.empty() ? handler(batch) : handler(copy);
    };
  }

  Result<std::vector<RecordedEvent>> Upcast(Result<std::vector<RecordedEvent>> read) const {
    if (!read.ok()) return read;
    for (RecordedEvent& e : *read) RETURN_IF_ERROR(upcasters_.Apply(e));
    return read;
  }

  const std::unique_ptr<EventStore> inner_;
  const Upcasters upcasters_;  // immutable after construction: read from any thread
};

}  // namespace

std::unique_ptr<EventStore> WithUpcasters(std::unique_ptr<EventStore> inner, Upcasters upcasters) {
  return std::make_unique<UpcastingEventStore>(std::move(inner), std::move(upcasters));
}

}  // namespace cqrs
