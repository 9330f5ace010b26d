// The Kafka bus: where it is (`--bus kafka://HOST:PORT[,HOST:PORT][?partitions=N&topic=NAME]`),
// its topic, and the librdkafka settings every client of it shares.
//
// One topic carries every event of the store, keyed by stream id: an ad's events land in one
// partition and stay in order there. Partitions are the unit of consumer parallelism: K worker
// processes share them through a consumer group, so K > partitions leaves workers idle.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "cqrs/core/status.h"
#include "cqrs/kafka/event_codec.h"

namespace cqrs::kafka {

struct BusOptions {
  std::string brokers;           // bootstrap.servers
  std::string topic = "events";  // an application names its own (adsd: adsd.events)
  int partitions = 8;            // when the topic is created
  // ce_source and content-type of the events published (event_codec.h): an application names
  // itself and its payloads' media type (adsd: /adsd, application/json).
  CloudEventSource event_source;
};

// kafka://127.0.0.1:9092?partitions=8&topic=NAME. What the URL does not say comes from
// `defaults` (an application's topic name, its partition count).
Result<BusOptions> ParseBusUrl(std::string_view url, const BusOptions& defaults = {});

// Creates the topic with `partitions` partitions, or leaves it as it is if it exists. On a
// cluster whose metadata shows 3 or more live brokers: replication 3, min.insync.replicas=2 and
// unclean.leader.election.enable=false as topic configs, so that an event acknowledged under
// acks=all is on two brokers at least and survives the loss of any one. Otherwise replication 1
// (a single broker; README.md says what an acknowledgement means then).
Status EnsureTopic(const BusOptions& bus);

// A producer with the settings every publisher of the bus shares: idempotent, acks=all, key =
// stream with the murmur2 partitioner (as Java clients), its delivery reports to `reports`;
// `linger` and `message_timeout` are the publisher's own.
Result<std::unique_ptr<RdKafka::Producer>> OpenProducer(const BusOptions& bus, RdKafka::DeliveryReportCb* reports,
                                                        std::chrono::milliseconds linger,
                                                        std::chrono::milliseconds message_timeout);

// A configuration with bootstrap.servers and `settings` set; the error names the bad setting.
Result<std::unique_ptr<RdKafka::Conf>> MakeConf(const BusOptions& bus,
                                                std::initializer_list<std::pair<const char*, std::string>> settings);

}  // namespace cqrs::kafka
