// The Read API's routes: HTTP in, queries out (ads/read/reads.h), outcomes back as answers.

#include <charconv>

#include "ads/json_writer.h"
#include "app/adsd/authorize.h"
#include "app/adsd/read_api.h"
#include "cqrs/core/hex.h"
#include "cqrs/core/time.h"
#include "http/problem.h"
#include "http/target.h"

namespace adsd::app {

namespace {

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Response BadParam(std::string field, std::string message) {
  return Problem(400, "bad-parameter", "Bad query parameter", message, {{std::move(field), "invalid", message}});
}

Response NotFound(std::string_view id) { return Problem(404, "not-found", "No such ad", "no ad " + std::string(id)); }

Response WithRetryAfter(Response r) {
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response FailureAnswer(const ads::ReadFailure& f) {
  using enum ads::ReadFailureCode;
  switch (f.code) {
    case kInvalid:
      return BadParam(f.field, f.detail);
    case kNotFound:
      return Problem(404, "not-found", "No such ad", f.detail);
    case kBehind:
      return WithRetryAfter(Problem(503, "read-model-behind", "The read model has not caught up yet", f.detail));
    case kOverloaded:
      return http::Overloaded(f.detail);
    case kUnavailable:
      break;
  }
  // The detail is the status code's name only: the cause stays in the server.
  return WithRetryAfter(Problem(503, "unavailable", "The read model is unavailable",
                                "the read model could not be read (" + f.detail + "); retry shortly"));
}

// The answer of a query: `ok` for its value, the failure's problem otherwise.
template <typename T, typename F>
Response AnswerOf(ads::ReadResult<T>&& r, F&& ok) {
  if (auto* f = std::get_if<ads::ReadFailure>(&r)) return FailureAnswer(*f);
  return ok(std::get<T>(std::move(r)));
}

std::string AdPageJson(const ads::AdPage& page) {
  ads::JsonWriter w;
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const auto& row : page.items) {
    const std::string j = ads::AdRowJson(row);
    w.RawValue(j.data(), j.size(), rapidjson::kObjectType);
  }
  w.EndArray();
  w.Key("next_cursor");
  if (page.next_cursor) {
    w.String(page.next_cursor->c_str());
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Text();
}

std::string HistoryJson(const ads::AdHistory& h) {
  ads::JsonWriter w;
  w.StartObject();
  w.Field("ad_id", h.ad_id);
  w.Key("events");
  w.StartArray();
  for (const auto& e : h.events) {
    w.StartObject();
    w.Key("position");
    w.Uint64(e.position.value());
    w.Key("version");
    w.Uint64(e.version.value());
    w.Field("type", e.type);
    w.Field("event_id", e.event_id.ToString());
    w.Field("causation_id", e.causation_id.ToString());
    w.Field("recorded_at", cqrs::FormatRfc3339(e.timestamp_us, cqrs::TimePrecision::kMillis));
    w.Field("hash", cqrs::ToHex(e.hash));
    w.Key("data");
    w.RawValue(e.payload.data(), e.payload.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
  w.Key("next_cursor");
  if (h.next_cursor) {
    w.String(std::to_string(h.next_cursor->value()).c_str());
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Text();
}

// ?as_of=<RFC 3339> or ?at_position=P (one of them, and not with a read-your-writes wait, which
// is about the read model's present).
std::optional<Response> ParsePastPoint(const Request& req, ads::GetAd& query) {
  auto as_of = req.Query("as_of");
  auto at_position = req.Query("at_position");
  if (!as_of && !at_position) return std::nullopt;
  if (as_of && at_position) return BadParam("at_position", "as_of and at_position cannot be given together");
  if (query.min_position || query.min_version) {
    return BadParam(as_of ? "as_of" : "at_position",
                    "as_of and at_position read the past from the log: min_position and min_version do not apply");
  }
  ads::PastPoint at;
  if (as_of) {
    auto t = cqrs::ParseRfc3339(*as_of);
    if (!t.ok()) return BadParam("as_of", "as_of must be an RFC 3339 date-time, e.g. 2026-12-01T10:00:00Z");
    // Compared at the precision the API shows times in (milliseconds): an event counts when its
    // recorded_at, as the history shows it, is at or before as_of.
    const cqrs::TimestampUs ms = *t >= 0 ? *t / 1000 : (*t - 999) / 1000;
    at.time = ms * 1000 + 999;
  } else {
    auto p = ParseUint(*at_position);
    if (!p || *p == 0 || *p > (std::uint64_t{1} << 62)) {
      return BadParam("at_position", "at_position must be a log position (an integer from 1)");
    }
    at.position = cqrs::Position(*p);
  }
  query.as_of = at;
  return std::nullopt;
}

std::optional<std::string> RetailerParam(const Request& req) {
  auto r = req.Query("retailer");
  return r ? std::optional<std::string>(*r) : std::nullopt;
}

}  // namespace

void ReadApi::AddRoutes() {
  router_.Add(
      "GET", "/v1/ads/{id}",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto ad_id = cqrs::Uuid::Parse(req.params["id"]);
        if (!ad_id) return respond(NotFound(req.params["id"]));
        ads::GetAd query{SenderOf(*who), *ad_id};
        if (auto p = req.Query("min_position")) {
          auto v = ParseUint(*p);
          if (!v) return respond(BadParam("min_position", "min_position must be a log position (integer)"));
          query.min_position = cqrs::Position(*v);
        }
        if (auto v = req.Query("min_version")) {
          auto n = ParseUint(*v);
          if (!n) return respond(BadParam("min_version", "min_version must be a version of the ad (integer)"));
          query.min_version = cqrs::StreamVersion(*n);
        }
        if (auto w = req.Query("wait_ms")) {
          auto v = ParseUint(*w);
          if (!v || *v > 10'000) return respond(BadParam("wait_ms", "wait_ms must be an integer from 0 to 10000"));
          query.wait = std::chrono::milliseconds(*v);
        }
        if (auto bad = ParsePastPoint(req, query)) return respond(std::move(*bad));
        reads_.Get(std::move(query), [respond](ads::ReadResult<ads::AdRow> r) {
          respond(AnswerOf(std::move(r), [](const ads::AdRow& row) {
            // The version of the ad shown (with as_of, the version it had then).
            Response ok = Response::Json(200, ads::AdRowJson(row));
            ok.headers.emplace_back("ETag", "\"" + std::to_string(row.version) + "\"");
            return ok;
          }));
        });
      },
      http::RouteOptions{.query_params = {"min_position", "min_version", "wait_ms", "as_of", "at_position"}});

  router_.Add(
      "GET", "/v1/ads",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        ads::ListAds query{SenderOf(*who), RetailerParam(req)};
        if (auto s = req.Query("status")) {
          if (*s != "pending" && *s != "approved" && *s != "rejected" && *s != "withdrawn") {
            return respond(BadParam("status", "status must be pending, approved, rejected or withdrawn"));
          }
          query.status = std::string(*s);
        }
        if (auto l = req.Query("limit")) {
          auto v = ParseUint(*l);
          if (!v || *v < 1 || *v > 500) return respond(BadParam("limit", "limit must be an integer from 1 to 500"));
          query.limit = static_cast<int>(*v);
        }
        if (auto c = req.Query("cursor")) {
          query.after = ads::ParseCursor(*c);
          if (!query.after) return respond(BadParam("cursor", "cursor must be the next_cursor of a listing"));
        }
        respond(AnswerOf(reads_.List(query),
                         [](const ads::AdPage& page) { return Response::Json(200, AdPageJson(page)); }));
      },
      http::RouteOptions{.query_params = {"status", "limit", "cursor", "retailer"}});

  router_.Add(
      "GET", "/v1/ads/{id}/events",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto ad_id = cqrs::Uuid::Parse(req.params["id"]);
        if (!ad_id) return respond(NotFound(req.params["id"]));
        // A page of the history: `limit` events after the version `cursor` names (the previous
        // page's next_cursor).
        ads::GetHistory query{SenderOf(*who), *ad_id};
        if (auto l = req.Query("limit")) {
          auto v = ParseUint(*l);
          if (!v || *v < 1 || *v > 10'000)
            return respond(BadParam("limit", "limit must be an integer from 1 to 10000"));
          query.limit = *v;
        }
        if (auto c = req.Query("cursor")) {
          auto v = ParseUint(*c);
          if (!v || *v > (std::uint64_t{1} << 62))
            return respond(BadParam("cursor", "cursor must be the next_cursor of a page"));
          query.after = cqrs::StreamVersion(*v);
        }
        respond(AnswerOf(reads_.History(query),
                         [](const ads::AdHistory& h) { return Response::Json(200, HistoryJson(h)); }));
      },
      http::RouteOptions{.query_params = {"limit", "cursor"}});

  router_.Add(
      "GET", "/v1/reports/daily",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto date = req.Query("date");
        ads::GetDailyReport query{SenderOf(*who), RetailerParam(req), date ? std::string(*date) : std::string()};
        respond(AnswerOf(reads_.Report(query), [](const ads::DailyReport& report) {
          Response r{200, "text/csv; charset=utf-8", ads::DailyReportCsv(report.rows), {}};
          // RFC 6266: an ASCII fallback name and the UTF-8 one; nothing from the client goes in raw.
          r.headers.emplace_back("Content-Disposition",
                                 http::AttachmentDisposition("ads-" + report.retailer + "-" + report.day + ".csv"));
          return r;
        }));
      },
      http::RouteOptions{.query_params = {"date", "retailer"}});
}

}  // namespace adsd::app
