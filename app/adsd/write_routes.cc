// The Write API's routes: HTTP in, commands out, outcomes back as answers.

#include "ads/ad_json.h"
#include "ads/json_writer.h"
#include "app/adsd/authorize.h"
#include "app/adsd/write_api.h"
#include "http/problem.h"

namespace adsd::app {

namespace {

// {"ad_id", "status", "version", "position"}: what an accepted write answers (no position when
// the event is not stored yet: see docs/api.md, "Positions").
std::string AcceptedJson(const ads::Accepted& a) {
  ads::JsonWriter w;
  w.StartObject();
  w.Field("ad_id", a.ad_id);
  w.Field("status", a.status);
  w.Key("version");
  w.Uint64(a.version.value());
  if (a.position) {
    w.Key("position");
    w.Uint64(a.position->value());
  }
  w.EndObject();
  return w.Text();
}

std::vector<http::FieldProblem> FieldProblems(const std::vector<ads::FieldError>& errors) {
  std::vector<http::FieldProblem> fields;
  for (const auto& e : errors) fields.push_back({e.field, e.code, e.message});
  return fields;
}

// The problem each rejection is answered with: status, type and title.
struct RejectionProblem {
  int status;
  std::string_view type, title;
};

RejectionProblem ProblemOf(ads::RejectionCode code) {
  using enum ads::RejectionCode;
  switch (code) {
    case kInvalid:
      return {400, "validation", "The ad is not valid"};
    case kBadIdempotencyKey:
      return {400, "bad-idempotency-key", "Bad Idempotency-Key"};
    case kIdempotencyKeyReused:
      return {422, "idempotency-key-reused", "Idempotency-Key reused"};
    case kIdempotencyKeyExpired:
      return {422, "idempotency-key-expired", "Idempotency-Key expired"};
    case kForbidden:
      return {403, "forbidden", "Forbidden"};
    case kNotFound:
      return {404, "not-found", "No such ad"};
    case kWithdrawn:
      return {409, "withdrawn", "The ad is withdrawn"};
    case kStaleVersion:
      return {412, "stale-version", "The ad has changed"};
    case kOverloaded:
      return {503, "overloaded", "Too many requests are waiting"};
    case kValidatorUnavailable:
      return {503, "validator-unavailable", "Detailed validation is unavailable"};
    case kReadModelBehind:
      return {503, "unavailable", "Read model behind"};
    case kUnavailable:
      break;
  }
  return {503, "unavailable", "The event log is unavailable"};
}

Response RejectionAnswer(const ads::Rejection& r) {
  using ads::RejectionCode;
  const RejectionProblem p = ProblemOf(r.code);
  // Field by field for a bad ad or a bad key; the ad's count of bad fields as the detail.
  const bool fields = r.code == RejectionCode::kInvalid || r.code == RejectionCode::kBadIdempotencyKey;
  const std::string detail =
      r.code != RejectionCode::kInvalid
          ? r.detail
          : std::to_string(r.fields.size()) + (r.fields.size() == 1 ? " field is" : " fields are") + " invalid";
  Response res =
      Problem(p.status, p.type, p.title, detail, fields ? FieldProblems(r.fields) : std::vector<http::FieldProblem>{});
  if (r.code == RejectionCode::kOverloaded) res.headers.emplace_back("Retry-After", "1");
  return res;
}

Response Answer(const ads::CommandResult& result) {
  if (const auto* rejected = std::get_if<ads::Rejection>(&result)) return RejectionAnswer(*rejected);
  const auto& a = std::get<ads::Accepted>(result);
  Response res = a.decided ? Response::Json(201, ads::AdRowJson(*a.decided)) : Response::Json(202, AcceptedJson(a));
  if (a.created) res.headers.emplace_back("Location", "/v1/ads/" + a.ad_id);
  return res;
}

ads::CommandDone AnswerWith(Responder respond) {
  return [respond = std::move(respond)](ads::CommandResult r) { respond(Answer(r)); };
}

Response BadIfMatch() {
  return Problem(400, "bad-if-match", "Bad If-Match", "If-Match must be \"<version>\", a list of them, or *",
                 {{"If-Match", "invalid", "an entity tag such as \"3\", a list of them, or *"}});
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
std::optional<std::string_view> TakeEntityTag(std::string_view& v, bool& weak) {
  weak = v.starts_with("W/");
  if (weak) v.remove_prefix(2);
  if (v.empty() || v.front() != '"') return std::nullopt;
  std::size_t end = 1;
  while (end < v.size() && v[end] != '"') {
    const auto c = static_cast<unsigned char>(v[end]);
    if (c < 0x21 || c == 0x7f) return std::nullopt;
    ++end;
  }
  if (end == v.size()) return std::nullopt;
  std::string_view tag = v.substr(1, end - 1);
  v.remove_prefix(end + 1);
  return tag;
}

std::optional<cqrs::StreamVersion> VersionOf(std::string_view tag) {
  if (tag.empty() || tag.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : tag) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return cqrs::StreamVersion(n);
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::optional<ads::VersionMatch> ParseIfMatch(std::string_view value) {
  value = TrimOws(value);
  ads::VersionMatch match;
  if (value == "*") {
    match.any = true;
    return match;
  }
  // Bare digits (`If-Match: 2`) are not an entity tag: 400 like any other value that is not one,
  // rather than a guess that could as well match no version (docs/api.md, RFC 9110 §13.1.1).
  bool any_tag = false;
  while (true) {
    value = TrimOws(value);
    if (value.starts_with(",")) {  // empty list elements are allowed (RFC 9110 §5.6.1)
      value.remove_prefix(1);
      continue;
    }
    if (value.empty()) break;
    bool weak = false;
    auto tag = TakeEntityTag(value, weak);
    if (!tag) return std::nullopt;
    any_tag = true;
    if (auto v = VersionOf(*tag); v && !weak) match.versions.push_back(*v);  // If-Match compares strongly
    value = TrimOws(value);
    if (!value.empty() && !value.starts_with(",")) return std::nullopt;
  }
  if (!any_tag) return std::nullopt;
  return match;
}

void WriteApi::AddRoutes() {
  router_.Add("POST", "/v1/ads", [this](Request& req, Responder respond) {
    const auto arrived = ads::LatencyModel::Clock::now();
    auto who = Authorize(keys_, req, respond);
    if (!who) return;
    ads::SubmitAd command{SenderOf(*who), std::move(req.body), std::nullopt, arrived};
    if (auto key = req.Header("Idempotency-Key")) command.idempotency_key = std::string(*key);
    commands_.Submit(std::move(command), AnswerWith(std::move(respond)));
  });

  router_.Add("PATCH", "/v1/ads/{id}", [this](Request& req, Responder respond) {
    auto who = Authorize(keys_, req, respond);
    if (!who) return;
    auto id = cqrs::Uuid::Parse(req.params["id"]);
    if (!id) return respond(Problem(404, "not-found", "No such ad", "no ad " + req.params["id"]));
    auto if_match = req.Header("If-Match");
    if (!if_match) {
      return respond(Problem(428, "precondition-required", "If-Match required",
                             "send If-Match: \"<version>\" with the version you read"));
    }
    auto expected = ParseIfMatch(*if_match);
    if (!expected) return respond(BadIfMatch());
    commands_.Change(ads::ChangeAd{SenderOf(*who), *id, std::move(req.body), std::move(*expected)},
                     AnswerWith(std::move(respond)));
  });

  router_.Add(
      "DELETE", "/v1/ads/{id}",
      [this](Request& req, Responder respond) {
        auto who = Authorize(keys_, req, respond);
        if (!who) return;
        auto id = cqrs::Uuid::Parse(req.params["id"]);
        if (!id) return respond(Problem(404, "not-found", "No such ad", "no ad " + req.params["id"]));
        ads::WithdrawAd command{SenderOf(*who), *id, std::nullopt};
        if (auto h = req.Header("If-Match")) {
          command.expected = ParseIfMatch(*h);
          if (!command.expected) return respond(BadIfMatch());  // as PATCH: never ignored
        }
        commands_.Withdraw(std::move(command), AnswerWith(std::move(respond)));
      },
      http::RouteOptions{.body_content_type = ""});
}

}  // namespace adsd::app
