#include "cqrs/kafka/event_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "cqrs/kafka/bus.h"

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

std::map<std::string, std::string> ByName(const BusMessage& m) {
  std::map<std::string, std::string> out;
  for (const auto& h : m.headers) out[h.name] = h.value;
  return out;
}

std::vector<BusHeader> Without(std::vector<BusHeader> headers, std::string_view name) {
  std::erase_if(headers, [&](const BusHeader& h) { return h.name == name; });
  return headers;
}

TEST(EventCodec, EveryFieldRoundTrips) {
  const RecordedEvent e = Sample();
  const BusMessage m = EncodeEvent(e);
  auto d = DecodeEvent(m.headers, m.value);
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

TEST(EventCodec, IsACloudEventInBinaryContentMode) {
  RecordedEvent e = Sample();
  e.metadata = "hi";
  const BusMessage m = EncodeEvent(e, {.source = "/adsd", .content_type = "application/json"});
  EXPECT_EQ(m.key, "ad-0193");
  EXPECT_EQ(m.value, e.payload);
  EXPECT_EQ(m.timestamp_ms, 1'700'000'000'123);
  const auto h = ByName(m);
  EXPECT_EQ(h.size(), m.headers.size()) << "an attribute twice";
  EXPECT_EQ(h.at("ce_specversion"), "1.0");
  EXPECT_EQ(h.at("ce_id"), e.event_id.ToString());
  EXPECT_EQ(h.at("ce_source"), "/adsd");
  EXPECT_EQ(h.at("ce_type"), "AdSubmitted");
  EXPECT_EQ(h.at("ce_time"), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(h.at("ce_subject"), "ad-0193");
  EXPECT_EQ(h.at("content-type"), "application/json");
  EXPECT_EQ(h.at("ce_schemaversion"), "2");
  EXPECT_EQ(h.at("ce_position"), "42");
  EXPECT_EQ(h.at("ce_streamversion"), "3");
  EXPECT_EQ(h.at("ce_hash"), "ab" + std::string(60, '0') + "cd");
  EXPECT_EQ(h.at("ce_correlationid"), e.correlation_id.ToString());
  EXPECT_EQ(h.at("ce_causationid"), e.causation_id.ToString());
  EXPECT_EQ(h.at("ce_metadata"), "aGk=");
  for (const auto& [name, value] : h) {
    if (!name.starts_with("ce_")) continue;
    // The spec: attribute names are lower-case ASCII letters and digits.
    EXPECT_TRUE(std::all_of(name.begin() + 3, name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    })) << name;
  }
}

TEST(EventCodec, ASubmissionHasNoPositionVersionOrHash) {
  EventData d;
  d.event_id = Uuid::V7();
  d.type = "AdSubmitted";
  d.payload = "{}";
  d.timestamp_us = 1'000'000;
  const BusMessage m = EncodeSubmission("ad-1", d);
  const auto h = ByName(m);
  for (const char* absent :
       {"ce_position", "ce_streamversion", "ce_hash", "ce_correlationid", "ce_causationid", "ce_metadata"}) {
    EXPECT_EQ(h.count(absent), 0u) << absent;
  }
  EXPECT_EQ(m.key, "ad-1");
  auto e = DecodeEvent(m.headers, m.value);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->position, Position(0));
  EXPECT_EQ(e->version, StreamVersion(0));
  EXPECT_EQ(e->hash, Sha256Digest{});
  EXPECT_EQ(e->event_id, d.event_id);
  EXPECT_EQ(e->timestamp_us, 1'000'000);
  EXPECT_EQ(ByName(EncodeSubmission("ad-1", d, {}, StreamVersion(4))).at("ce_streamversion"), "4");
  d.timestamp_us = 0;  // stamped now
  EXPECT_GT(DecodeEvent(EncodeSubmission("ad-1", d).headers, "")->timestamp_us, 1'700'000'000'000'000);
}

TEST(EventCodec, MessagesThatAreNotOursAreCorruptionNotACrash) {
  const BusMessage m = EncodeEvent(Sample());
  EXPECT_EQ(DecodeEvent({}, "some other producer's bytes").status().code(), StatusCode::kCorruption);
  // Each required attribute missing.
  for (const char* required : {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"}) {
    EXPECT_EQ(DecodeEvent(Without(m.headers, required), m.value).status().code(), StatusCode::kCorruption) << required;
  }
  // Attributes with values that are not of their type.
  const std::vector<std::pair<std::string, std::string>> bad = {{"ce_specversion", "0.3"},
                                                                {"ce_specversion", ""},
                                                                {"ce_id", "42"},
                                                                {"ce_id", ""},
                                                                {"ce_time", "yesterday"},
                                                                {"ce_type", ""},
                                                                {"ce_subject", ""},
                                                                {"ce_source", ""},
                                                                {"ce_schemaversion", "-1"},
                                                                {"ce_schemaversion", "4294967296"},
                                                                {"ce_position", "0"},
                                                                {"ce_position", "1e3"},
                                                                {"ce_position", "99999999999999999999"},
                                                                {"ce_streamversion", "0"},
                                                                {"ce_streamversion", " 3"},
                                                                {"ce_hash", "ab"},
                                                                {"ce_hash", std::string(64, 'g')},
                                                                {"ce_correlationid", "x"},
                                                                {"ce_causationid", ""},
                                                                {"ce_metadata", "aGk"},
                                                                {"ce_metadata", "aGl="},
                                                                {"ce_metadata", "a=Gk"}};
  for (const auto& [name, value] : bad) {
    auto headers = m.headers;
    for (auto& h : headers) {
      if (h.name == name) h.value = value;
    }
    EXPECT_EQ(DecodeEvent(headers, m.value).status().code(), StatusCode::kCorruption) << name << " = '" << value << "'";
  }
  auto twice = m.headers;
  twice.push_back({"ce_type", "AdWithdrawn"});
  EXPECT_NE(DecodeEvent(twice, m.value).status().message().find("twice"), std::string::npos);
}

TEST(EventCodec, OptionalAttributesMayBeLeftOutAndUnknownOnesAreIgnored) {
  const BusMessage m = EncodeEvent(Sample());
  std::vector<BusHeader> headers;
  for (const char* kept : {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"}) {
    for (const auto& h : m.headers) {
      if (h.name == kept) headers.push_back(h);
    }
  }
  headers.push_back({"ce_traceparent", "00-abc"});
  headers.push_back({"x-other", "1"});
  auto e = DecodeEvent(headers, "");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->schema_version, 1u);
  EXPECT_TRUE(e->correlation_id.is_nil());
  EXPECT_TRUE(e->metadata.empty());
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
