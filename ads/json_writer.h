// JsonWriter: RapidJSON's compact writer with its own buffer, strings from string_view, and
// "key: string" in one call, so that each piece of JSON the service writes is only its fields.
//
// All of rapidjson::Writer's calls are there as they are (StartObject, Key, Uint64, RawValue...).
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace adsd::ads {

namespace internal {
struct JsonBuffer {
  rapidjson::StringBuffer buffer;  // a base class, so that it is built before the writer on it
};
}  // namespace internal

class JsonWriter : private internal::JsonBuffer, public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using Base = rapidjson::Writer<rapidjson::StringBuffer>;
  JsonWriter() : Base(buffer) {}

  using Base::String;
  bool String(std::string_view s) { return Base::String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
  // "key": "value"
  void Field(const char* key, std::string_view value) {
    Key(key);
    String(value);
  }
  // The JSON written so far.
  std::string Text() const { return {buffer.GetString(), buffer.GetSize()}; }
};

}  // namespace adsd::ads
