// Topic generations: the bus after the event store went back in time.
//
// The relay publishes the store's global order to a topic. When the store goes back in time (a
// point-in-time restore, a failover that lost commits), the topic still holds the events the
// store no longer has, under positions the store will hand out again to other events: a consumer
// that reads them acts on events that do not exist any more. So that topic is not used again: a
// new generation of it starts, a new topic into which the relay publishes the store's history
// from position 1 (its checkpoint is named after the topic, so it starts from nothing), and every
// consumer follows it (a consumer group named after the topic starts at its beginning). Events at
// or below `replayed_through` were on an earlier generation's topic too: consumers treat them as
// possibly repeated deliveries.
//
// Which generation is current is recorded in the store's database (table bus_generations,
// component "bus"), so a restore of the store brings back the generation of its time; its topic
// is then found ahead too and a newer generation starts. A new generation's topic is
// `<topic>.g<N>`, N the smallest number above the current one whose topic does not exist on the
// brokers (a generation lost with a restore has left its topic behind).
//
// Detection (TopicAhead) reads the last events of each of the topic's partitions and holds each
// (its ce_position and ce_hash, docs/kafka-format.md) against the store, as a consumer's
// checkpoint (cqrs/store/checkpoint_check.h). The relay publishes in position order and looks
// before it publishes, whenever it becomes the leader, so the topic's newest events are the ones
// a store that went back no longer has.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cqrs/core/status.h"
#include "cqrs/kafka/bus.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/checkpoint_check.h"
#include "cqrs/store/event_store.h"

namespace cqrs::kafka {

struct TopicGeneration {
  int number = 1;                // 1: the bus's own topic, which has no row
  std::string topic;             // the base topic for 1, `<base>.g<N>` after
  Position replayed_through{0};  // the store's head when this generation began
};

// The current generation of the topic family `base` (migrates the store's "bus" component).
Result<TopicGeneration> CurrentGeneration(pg::Connection& store_db, const std::string& base);

// A partition whose newest event the store does not have (or has another event in its place).
struct PartitionAhead {
  std::int32_t partition = 0;
  CheckpointCheck check;
};
struct TopicAhead {
  std::string topic;
  std::vector<PartitionAhead> partitions;
  // "topic adsd.events holds events the event store no longer has: partition 3's newest event is
  // at position 812, past the event store's head 640; ..."
  std::string Describe() const;
};

// Whether `bus.topic` holds events the store no longer has; nullopt when it does not (or does not
// exist). A newest event past the store's head is waited for up to `head_wait` first: another
// process may have numbered it an instant ago (a relay taking over from another).
Result<std::optional<TopicAhead>> FindTopicAhead(const BusOptions& bus, const EventStore& store,
                                                 std::chrono::milliseconds head_wait = std::chrono::milliseconds(0));

struct SettledGeneration {
  TopicGeneration generation;
  std::optional<std::string> started;  // set when this call started it: what was found, what was done
};

// At start, one process at a time (a transaction-level advisory lock in the store's database): the
// current generation of `bus.topic`'s family, its topic held against the store. Ahead: with
// kRefuse, kCorruption naming the topic and what was found; with kRepair, a new generation is
// started (recorded, its topic created) and returned.
Result<SettledGeneration> SettleGeneration(pg::Connection& store_db, const EventStore& store, const BusOptions& bus,
                                           AheadPolicy policy);

}  // namespace cqrs::kafka
