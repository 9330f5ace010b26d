#include "cqrs/store/checkpoint_check.h"

namespace cqrs {

namespace {
// Enough of a hash for a person to tell two apart.
std::string Short(const Sha256Digest& h) { return ToHex(h).substr(0, 16) + "…"; }
}  // namespace

std::string CheckpointCheck::Describe() const {
  const std::string at = "is at position " + std::to_string(checkpoint.position.value());
  switch (state) {
    case CheckpointState::kInStore:
      return at + ", an event the event store holds";
    case CheckpointState::kPastHead:
      return at + ", past the event store's head " + std::to_string(head.value());
    case CheckpointState::kOtherEvent:
      return at + ", where the event store now holds another event (hash " + (store_hash ? Short(*store_hash) : "?") +
             ", the consumer applied " + (checkpoint.hash ? Short(*checkpoint.hash) : "?") + ")";
  }
  return at;
}

Result<CheckpointCheck> CheckCheckpoint(const EventStore& store, const ConsumerCheckpoint& checkpoint,
                                        std::chrono::milliseconds head_wait) {
  CheckpointCheck c;
  c.checkpoint = checkpoint;
  if (checkpoint.position > store.Head() && head_wait.count() > 0) {
    store.WaitForPosition(checkpoint.position, std::chrono::steady_clock::now() + head_wait);
  }
  c.head = store.Head();
  if (checkpoint.position.value() == 0) return c;  // nothing applied yet
  if (checkpoint.position > c.head) {
    c.state = CheckpointState::kPastHead;
    return c;
  }
  ASSIGN_OR_RETURN(auto events, store.ReadAll(checkpoint.position, 1));
  if (events.empty() || events.front().position != checkpoint.position) {
    // Below the head and yet not there: the store's head has not been read since it went back.
    c.state = CheckpointState::kPastHead;
    return c;
  }
  c.store_hash = events.front().hash;
  if (checkpoint.hash && *checkpoint.hash != events.front().hash) c.state = CheckpointState::kOtherEvent;
  return c;
}

}  // namespace cqrs
