// The optional tag block of a record (format.h): records without tags are what the format always
// wrote, tagged records round-trip, their tags are in the hash chain, and a bad block is a bad frame.
#include <gtest/gtest.h>

#include "cqrs/core/crc32c.h"
#include "cqrs/core/testing/temp_dir.h"
#include "cqrs/log/format.h"
#include "cqrs/log/log.h"
#include "cqrs/log/record_codec.h"
#include "cqrs/log/verify.h"

namespace cqrs::log {
namespace {

using namespace format;  // NOLINT: the format constants read best unqualified here

RecordDraft Draft() {
  RecordDraft d;
  d.event_id = Uuid::V7();
  d.stream = "seat-7";
  d.version = StreamVersion(3);
  d.type = "SeatReserved";
  d.timestamp_us = 1'700'000'000'000'000;
  d.metadata = "m";
  d.payload = "{\"x\":1}";
  return d;
}

// The body as docs/log-format.md lays it out, written field by field without the codec.
std::string HandMadeRecord(const RecordDraft& d, Position p, const Sha256Digest& prev) {
  std::string body(kFixedBodyBytes, '\0');
  Store<std::uint64_t>(body.data() + 0, p.value());
  Store<std::uint64_t>(body.data() + 8, d.version.value());
  Store<std::int64_t>(body.data() + 16, d.timestamp_us);
  std::memcpy(body.data() + 24, d.event_id.bytes.data(), 16);
  Store<std::uint32_t>(body.data() + 72, d.schema_version);
  Store<std::uint16_t>(body.data() + 76, static_cast<std::uint16_t>(d.stream.size()));
  Store<std::uint16_t>(body.data() + 78, static_cast<std::uint16_t>(d.type.size()));
  Store<std::uint32_t>(body.data() + 80, static_cast<std::uint32_t>(d.metadata.size()));
  Store<std::uint32_t>(body.data() + 84, static_cast<std::uint32_t>(d.payload.size()));
  body.append(d.stream).append(d.type).append(d.metadata).append(d.payload);
  const Sha256Digest hash = Sha256Concat(prev, body.data(), body.size());
  body.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  std::string frame(kFrameBytes, '\0');
  Store<std::uint32_t>(frame.data(), static_cast<std::uint32_t>(body.size()));
  Store<std::uint32_t>(frame.data() + 4, crc32c::Value(body.data(), body.size()));
  return frame + body;
}

TEST(RecordTags, ARecordWithoutTagsIsByteForByteTheFormatBeforeTags) {
  const RecordDraft d = Draft();
  std::string out;
  EncodeRecord(d, Position(5), Sha256Digest{}, out);
  EXPECT_EQ(out, HandMadeRecord(d, Position(5), Sha256Digest{}));
  const Decoded back = DecodeRecord(out);
  ASSERT_EQ(back.outcome, DecodeOutcome::kOk);
  EXPECT_TRUE(back.view.tag_block.empty());
  EXPECT_EQ(back.view.type, "SeatReserved");
}

TEST(RecordTags, TagsRoundTripInOrderAndAreCoveredByTheChainedHash) {
  RecordDraft d = Draft();
  const std::vector<std::string> tags{"seat:7", "show:2024-06-01", std::string(300, 'k')};
  d.tags = tags;
  std::string out;
  const Sha256Digest hash = EncodeRecord(d, Position(5), Sha256Digest{}, out);
  EXPECT_EQ(out.size(), EncodedSize(d));
  const Decoded back = DecodeRecord(out);
  ASSERT_EQ(back.outcome, DecodeOutcome::kOk) << back.detail;
  EXPECT_EQ(back.record_bytes, out.size());
  EXPECT_EQ(back.view.type, "SeatReserved");
  EXPECT_EQ(back.view.payload, d.payload);
  EXPECT_EQ(DecodeTags(back.view.tag_block), tags);
  EXPECT_EQ(back.view.hash, hash);

  RecordDraft other = d;
  const std::vector<std::string> other_tags{"seat:8", "show:2024-06-01", std::string(300, 'k')};
  other.tags = other_tags;
  std::string other_out;
  EXPECT_NE(EncodeRecord(other, Position(5), Sha256Digest{}, other_out), hash);
}

TEST(RecordTags, ATagBlockThatDoesNotAddUpIsABadFrame) {
  RecordDraft d = Draft();
  const std::vector<std::string> tags{"a", "bc"};
  d.tags = tags;
  std::string good;
  EncodeRecord(d, Position(1), Sha256Digest{}, good);
  const std::size_t block_at =
      kFrameBytes + kFixedBodyBytes + d.stream.size() + d.type.size() + d.metadata.size() + d.payload.size();
  auto reframe = [](std::string r) {  // a valid CRC over damaged fields: only the layout can tell
    const auto len = BodyLength(Load<std::uint32_t>(r.data()));
    Store<std::uint32_t>(r.data() + 4, crc32c::Value(r.data() + kFrameBytes, len));
    return r;
  };
  for (std::uint16_t count : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{3}}) {
    std::string bad = good;
    Store<std::uint16_t>(bad.data() + block_at, count);
    EXPECT_EQ(DecodeRecord(reframe(bad)).outcome, DecodeOutcome::kBadFrame) << count;
  }
  std::string zero_len = good;
  Store<std::uint16_t>(zero_len.data() + block_at + kTagCountBytes, 0);
  EXPECT_EQ(DecodeRecord(reframe(zero_len)).outcome, DecodeOutcome::kBadFrame);
  std::string no_flag = good;  // the block is there, the flag says it is not
  Store<std::uint16_t>(no_flag.data() + kFrameBytes + kOffTypeLen, static_cast<std::uint16_t>(d.type.size()));
  EXPECT_EQ(DecodeRecord(reframe(no_flag)).outcome, DecodeOutcome::kBadFrame);
}

TEST(RecordTags, ALogOfUntaggedAndTaggedRecordsReopensAndVerifies) {
  cqrs::testing::TempDir dir;
  const std::vector<std::string> tags{"t1", "t2"};
  {
    auto log = Log::Open({.dir = dir.path()});
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 10; ++i) {
      RecordDraft d = Draft();
      if (i % 2 == 1) d.tags = tags;
      auto r = (*log)->Stage(std::span(&d, 1));
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE((*log)->AwaitDurable(r->last).ok());
    }
  }
  std::vector<std::vector<std::string>> seen;
  LogOptions options;
  options.dir = dir.path();
  options.on_recover = [&](const RecordView& v) { seen.push_back(DecodeTags(v.tag_block)); };
  auto log = Log::Open(std::move(options));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_TRUE(seen[0].empty());
  EXPECT_EQ(seen[1], tags);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->records, 10u);
  EXPECT_FALSE(report->problem.has_value());
}

}  // namespace
}  // namespace cqrs::log
