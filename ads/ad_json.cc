#include "ads/ad_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "ads/json_writer.h"

namespace adsd::ads {

namespace {

namespace dom = simdjson::dom;

enum class Mode { kComplete, kPatch };

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

// Reads one JSON object into `ad`, field by field. Returns false on malformed JSON (the caller
// then reports the body as a whole); field-level problems go into `errors`.
class AdReader {
 public:
  AdReader(Ad& ad, std::vector<FieldError>& errors, Mode mode) : ad_(ad), errors_(errors), mode_(mode) {}

  // The DOM parser validates the whole document (structure, UTF-8, trailing content) before
  // any field is looked at; ad bodies are small, so the on-demand parser would buy nothing.
  bool Read(std::string_view json) {
    simdjson::padded_string padded(json);
    thread_local dom::parser parser;  // reused: a parser allocates its buffers on first use
    dom::element doc;
    if (parser.parse(padded).get(doc)) return false;
    dom::object obj;
    if (doc.get_object().get(obj)) {
      errors_.push_back({"", "not_an_object", "the body must be a JSON object"});
      return true;
    }
    std::set<std::string, std::less<>> seen;
    for (dom::key_value_pair kv : obj) {
      const std::string_view key = kv.key;
      if (!seen.emplace(key).second) {
        errors_.push_back({std::string(key), "duplicate_field", "field appears twice"});
        continue;
      }
      ReadField(key, kv.value);
    }
    if (mode_ == Mode::kComplete) {
      for (const char* required : {"title", "landing_url", "category", "bid_cents", "currency", "countries"}) {
        if (!seen.contains(std::string_view(required))) {
          errors_.push_back({required, "required", std::string(required) + " is required"});
        }
      }
    }
    return true;
  }

 private:
  void TypeError(std::string_view key, const char* expected) {
    errors_.push_back({std::string(key), "wrong_type", std::string(key) + " must be " + expected});
  }

  // Reads a string, or notes a type error; returns whether it got one.
  bool String(std::string_view key, dom::element v, std::string& out) {
    std::string_view s;
    if (v.get_string().get(s)) {
      TypeError(key, "a string");
      return false;
    }
    out.assign(s);
    return true;
  }

  void ReadField(std::string_view key, dom::element v) {
    const bool is_null = v.is_null();
    if (key == "title" || key == "description" || key == "landing_url" || key == "category" || key == "currency") {
      std::string* target = key == "title"         ? &ad_.title
                            : key == "description" ? &ad_.description
                            : key == "landing_url" ? &ad_.landing_url
                            : key == "category"    ? &ad_.category
                                                   : &ad_.currency;
      if (is_null && key == "description") {
        ad_.description.clear();
      } else if (is_null) {
        errors_.push_back({std::string(key), "required", std::string(key) + " must not be null"});
      } else if (String(key, v, *target) && key == "currency") {
        ad_.currency = Upper(ad_.currency);
      }
      return;
    }
    if (key == "bid_cents" || key == "min_age") {
      if (is_null && key == "min_age") {
        ad_.min_age.reset();
        return;
      }
      std::int64_t n = 0;
      if (!v.is_int64() || v.get_int64().get(n)) {
        TypeError(key, "an integer");
        return;
      }
      if (key == "bid_cents") {
        ad_.bid_cents = n;
      } else {
        ad_.min_age = static_cast<int>(std::clamp<std::int64_t>(n, -1, 1000));
      }
      return;
    }
    if (key == "starts_at" || key == "ends_at") {
      auto& target = key == "starts_at" ? ad_.starts_at : ad_.ends_at;
      std::string s;
      if (is_null) {
        target.reset();
      } else if (String(key, v, s)) {
        target = std::move(s);
      }
      return;
    }
    if (key == "countries") {
      dom::array arr;
      if (v.get_array().get(arr)) {
        TypeError(key, "an array of country codes");
        return;
      }
      ad_.countries.clear();
      std::size_t i = 0;
      for (dom::element el : arr) {
        // A bad element keeps its place (as an empty code), so that the errors of the later ones
        // name their own index; its wrong_type error hides the value check of that empty code.
        std::string code;
        ad_.countries.push_back(String("countries[" + std::to_string(i++) + "]", el, code) ? Upper(code) : "");
      }
      return;
    }
    errors_.push_back({std::string(key), "unknown_field", "unknown field"});
  }

  Ad& ad_;
  std::vector<FieldError>& errors_;
  Mode mode_;
};

// When a body fails to parse only because a top-level field holds a number no double or 64-bit
// integer can represent (`"bid_cents": 1e400`), that field; nullopt for any other failure.
std::optional<std::string> UnrepresentableNumberField(std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) return std::nullopt;
  for (auto field : obj) {
    std::string_view key;
    simdjson::ondemand::value value;
    simdjson::ondemand::json_type type;
    if (field.unescaped_key().get(key) || field.value().get(value) || value.type().get(type)) return std::nullopt;
    if (type != simdjson::ondemand::json_type::number) continue;
    std::string_view token = value.raw_json_token();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
    dom::parser alone;
    dom::element ignored;
    if (!alone.parse(simdjson::padded_string(token)).get(ignored)) continue;  // this number is fine
    // The culprit, if the body is valid JSON with a representable number in its place.
    const std::size_t at = static_cast<std::size_t>(token.data() - padded.data());
    std::string fixed(json);
    fixed.replace(at, token.size(), "0");
    dom::parser whole;
    if (whole.parse(simdjson::padded_string(fixed)).get(ignored)) return std::nullopt;
    return std::string(key);
  }
  return std::nullopt;
}

ParsedAd Parse(std::string_view json, Ad base, Mode mode) {
  ParsedAd out;
  out.ad = std::move(base);
  AdReader reader(out.ad, out.errors, mode);
  if (!reader.Read(json)) {
    if (auto field = UnrepresentableNumberField(json)) {
      out.errors.assign(1, FieldError{*field, "out_of_range", *field + " is a number too large to represent"});
      return out;
    }
    out.errors.assign(1, FieldError{"", "malformed_json", "the body is not valid JSON"});
    return out;
  }
  if (!out.errors.empty() && out.errors.front().field.empty()) return out;  // not an object
  // Type errors first; value checks only for fields that parsed, without repeating a field.
  std::vector<FieldError> value_errors;
  ValidateAd(out.ad, value_errors);
  for (auto& e : value_errors) {
    const bool already = std::any_of(out.errors.begin(), out.errors.end(), [&](const FieldError& x) {
      return x.field == e.field || (e.field.starts_with(x.field + "[") && !x.field.empty());
    });
    if (!already) out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace

ParsedAd ParseAd(std::string_view json) { return Parse(json, Ad{}, Mode::kComplete); }

ParsedAd ParseAdPatch(std::string_view json, const Ad& base) { return Parse(json, base, Mode::kPatch); }

std::string AdToJson(const Ad& ad) {
  JsonWriter w;
  auto str = [&](const char* key, const std::string& v) { w.Field(key, v); };
  w.StartObject();
  str("title", ad.title);
  str("description", ad.description);
  str("landing_url", ad.landing_url);
  str("category", ad.category);
  w.Key("bid_cents");
  w.Int64(ad.bid_cents);
  str("currency", ad.currency);
  w.Key("countries");
  w.StartArray();
  for (const auto& c : ad.countries) w.String(std::string_view(c));
  w.EndArray();
  if (ad.min_age) {
    w.Key("min_age");
    w.Int(*ad.min_age);
  }
  if (ad.starts_at) str("starts_at", *ad.starts_at);
  if (ad.ends_at) str("ends_at", *ad.ends_at);
  w.EndObject();
  return w.Text();
}

}  // namespace adsd::ads
