// Loading an aggregate from its latest snapshot plus the events after it, and saving snapshots.
//
//   AggregateCodec<Account> codec{.schema_version = 1, .serialize = ..., .deserialize = ...,
//                                 .apply = ...};
//   ASSIGN_OR_RETURN(auto loaded, LoadAggregate(store, &snapshots, "account-42", codec));
//   ... decide, append at loaded.version ...
//   if (loaded.events_replayed > 100) RETURN_IF_ERROR(SaveSnapshot(snapshots, "account-42", loaded, codec));
//
// The state folded from a snapshot must equal the state folded from the whole stream: `apply`
// and the serializer must be deterministic and lossless. A snapshot of another schema_version
// (the state's format changed) or one that does not deserialize is ignored, and the whole stream
// is replayed: a snapshot can cost time, never correctness.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "cqrs/snapshot/snapshot_store.h"
#include "cqrs/store/event_store.h"

namespace cqrs {

template <typename State>
struct AggregateCodec {
  std::uint32_t schema_version = 1;  // of the serialized state
  std::function<std::string(const State&)> serialize;
  std::function<Result<State>(std::string_view)> deserialize;
  std::function<void(State&, const RecordedEvent&)> apply;  // folds one event into the state
};

template <typename State>
struct LoadedAggregate {
  State state{};
  StreamVersion version{0};           // the stream version `state` reflects: the one to append at
  StreamVersion snapshot_version{0};  // 0: no usable snapshot, the whole stream was replayed
  std::size_t events_replayed = 0;
};

// `snapshots` may be null (no snapshots: the whole stream is replayed).
template <typename State>
Result<LoadedAggregate<State>> LoadAggregate(const EventStore& store, const SnapshotStore* snapshots,
                                             std::string_view stream, const AggregateCodec<State>& codec,
                                             std::size_t page = 512) {
  LoadedAggregate<State> loaded;
  if (snapshots != nullptr) {
    ASSIGN_OR_RETURN(std::optional<Snapshot> snapshot, snapshots->Load(stream));
    if (snapshot && snapshot->schema_version == codec.schema_version) {
      Result<State> state = codec.deserialize(snapshot->state);
      if (state.ok()) {
        loaded.state = std::move(*state);
        loaded.version = loaded.snapshot_version = snapshot->version;
      }
    }
  }
  while (true) {
    ASSIGN_OR_RETURN(std::vector<RecordedEvent> events, store.ReadStream(stream, loaded.version.next(), page));
    for (const RecordedEvent& e : events) {
      codec.apply(loaded.state, e);
      loaded.version = e.version;
    }
    loaded.events_replayed += events.size();
    if (events.size() < page) return loaded;
  }
}

template <typename State>
Status SaveSnapshot(SnapshotStore& snapshots, std::string_view stream, const LoadedAggregate<State>& loaded,
                    const AggregateCodec<State>& codec) {
  if (loaded.version.value() == 0) return Status::Ok();  // nothing to save: no such stream
  return snapshots.Save(Snapshot{.stream = std::string(stream),
                                 .version = loaded.version,
                                 .schema_version = codec.schema_version,
                                 .state = codec.serialize(loaded.state)});
}

}  // namespace cqrs
