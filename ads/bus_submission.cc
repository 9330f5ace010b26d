#include "ads/bus_submission.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace adsd::ads {

namespace {
constexpr std::string_view kIngestKey = "ingest";
constexpr std::string_view kIngestBus = "bus";
}  // namespace

std::string SubmissionsTopic(std::string_view events_topic) { return std::string(events_topic) + ".submissions"; }

std::string MarkCameThroughBus(std::string_view metadata) {
  rapidjson::Document d;
  if (metadata.empty() || d.Parse(metadata.data(), metadata.size()).HasParseError() || !d.IsObject()) d.SetObject();
  auto& a = d.GetAllocator();
  d.RemoveMember(kIngestKey.data());
  d.AddMember(rapidjson::StringRef(kIngestKey.data(), kIngestKey.size()),
              rapidjson::StringRef(kIngestBus.data(), kIngestBus.size()), a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

bool CameThroughBus(const cqrs::RecordedEvent& e) {
  if (e.metadata.empty()) return false;
  rapidjson::Document d;
  if (d.Parse(e.metadata.data(), e.metadata.size()).HasParseError() || !d.IsObject()) return false;
  const rapidjson::Document& doc = d;  // const iterators: clang finds the non-const == ambiguous
  const auto it = doc.FindMember(kIngestKey.data());
  return it != doc.MemberEnd() && it->value.IsString() &&
         std::string_view(it->value.GetString(), it->value.GetStringLength()) == kIngestBus;
}

}  // namespace adsd::ads
