#include "cqrs/kafka/event_codec.h"
#include "cqrs/kafka/bus.h"

#include <gtest/gtest.h>

namespace cqrs::kafka {
namespace {

RecordedEvent Sample() {
  RecordedEvent e;
  e.position = Position(42);
  e.stream = "ad-0193";
  e.version = StreamVersion(3);
  e.event_id = Uuid::V7();
  e.type = "AdSubmitted";
  e.schema_version = 2;
  e.timestamp_us = 1'700'000'000'123'456;
  e.correlation_id = Uuid::V7();
  e.causation_id = Uuid::V7();
  e.metadata = std::string("m\0eta", 5);
  e.payload = "{\"title\":\"boots\"}";
  e.hash[0] = 0xab;
  e.hash[31] = 0xcd;
  return e;
}

TEST(EventCodec, EveryFieldRoundTrips) {
  const RecordedEvent e = Sample();
  auto d = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->position, e.position);
  EXPECT_EQ(d->stream, e.stream);
  EXPECT_EQ(d->version, e.version);
  EXPECT_EQ(d->event_id, e.event_id);
  EXPECT_EQ(d->type, e.type);
  EXPECT_EQ(d->schema_version, e.schema_version);
  EXPECT_EQ(d->timestamp_us, e.timestamp_us);
  EXPECT_EQ(d->correlation_id, e.correlation_id);
  EXPECT_EQ(d->causation_id, e.causation_id);
  EXPECT_EQ(d->metadata, e.metadata);
  EXPECT_EQ(d->payload, e.payload);
  EXPECT_EQ(d->hash, e.hash);
}

TEST(EventCodec, EveryTruncationAndExtensionIsCorruptionNotACrash) {
  const std::string bytes = EncodeEvent(Sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeEvent(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(d.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(DecodeEvent(bytes + "x").ok());
}

TEST(EventCodec, HugeLengthsAndUnknownFormatsAreRefused) {
  std::string bytes = EncodeEvent(Sample());
  std::string huge = bytes;
  huge[9] = '\xff';  // the stream's length: 4 GiB
  EXPECT_EQ(DecodeEvent(huge).status().code(), StatusCode::kCorruption);
  bytes[0] = 7;
  EXPECT_NE(DecodeEvent(bytes).status().message().find("unknown format"), std::string::npos);
}

TEST(BusUrl, ParsesBrokersPartitionsAndTopic) {
  auto o = ParseBusUrl("kafka://127.0.0.1:9092,127.0.0.2:9092?partitions=12&topic=ads");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->brokers, "127.0.0.1:9092,127.0.0.2:9092");
  EXPECT_EQ(o->partitions, 12);
  EXPECT_EQ(o->topic, "ads");
  EXPECT_EQ(ParseBusUrl("kafka://h:1")->partitions, 8);
  for (const char* bad : {"http://h:1", "kafka://", "kafka://h:1?partitions=0", "kafka://h:1?partitions=x",
                          "kafka://h:1?colour=red", "kafka://h:1?topic="}) {
    EXPECT_FALSE(ParseBusUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cqrs::kafka
