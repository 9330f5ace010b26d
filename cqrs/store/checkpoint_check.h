// A consumer's checkpoint held against the event store: is the event it last applied still there?
//
// After the store went back in time (a point-in-time restore, a failover to a replica that had
// not received the last commits), a consumer's checkpoint may stand past the store's head, or at
// a position the store has since given to another event. Either way the consumer must not go on:
// it would skip the events the store hands out at those positions, or act on one it no longer
// has. So a consumer records, with its position and in the same transaction, the hash-chain link
// of the event at that position (RecordedEvent::hash). The chain makes that hash stand for the
// whole history up to the position: the same hash at the same position means the consumer's past
// is the store's past; another hash, that the two part somewhere at or before it.
//
// What a consumer found ahead does is its owner's choice (AheadPolicy): refuse to start, naming
// it and the remedy, or repair (rebuild, reset, a fresh topic generation). Never go on silently.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cqrs/core/sha256.h"
#include "cqrs/core/status.h"
#include "cqrs/core/types.h"
#include "cqrs/store/event_store.h"

namespace cqrs {

struct ConsumerCheckpoint {
  Position position;
  // Absent when it was recorded before checkpoints carried hashes: then only the position can be
  // held against the store.
  std::optional<Sha256Digest> hash;
};

enum class CheckpointState {
  kInStore,     // the store holds the event the consumer last applied (or it applied nothing)
  kPastHead,    // the consumer stands past the store's head
  kOtherEvent,  // the store holds another event at the consumer's position
};

struct CheckpointCheck {
  CheckpointState state = CheckpointState::kInStore;
  ConsumerCheckpoint checkpoint;
  Position head;                           // the store's, when checked
  std::optional<Sha256Digest> store_hash;  // the store's event at checkpoint.position, if any
  bool ahead() const { return state != CheckpointState::kInStore; }
  // "is at position 42, past the event store's head 40" / "is at position 42, where the event
  // store now holds another event (hash 1a2b3c4d…, the consumer applied 9f8e7d6c…)".
  std::string Describe() const;
};

// Reads the store's head and its event at the checkpoint's position. A checkpoint past the head
// is first waited for up to `head_wait`: the store may be a replica that has not replayed it yet,
// or another process may have numbered it an instant ago.
Result<CheckpointCheck> CheckCheckpoint(const EventStore& store, const ConsumerCheckpoint& checkpoint,
                                        std::chrono::milliseconds head_wait = std::chrono::milliseconds(0));

// What to do with a consumer found ahead of the store.
enum class AheadPolicy {
  kRefuse,  // do not start; the error names the consumer and the remedy
  kRepair,  // rebuild or reset it (each consumer says how), then start
};

}  // namespace cqrs
