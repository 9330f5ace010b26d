// The Read API: an ad and its verdict, a retailer's ads by status, an ad's history, the report.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

#include "ads/events.h"
#include "ads/ad_json.h"
#include "ads/read_model.h"
#include "app/adsd/authorize.h"
#include "app/adsd/read_api.h"
#include "http/problem.h"

namespace adsd::app {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::uint64_t> ParseUint(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Response BadParam(std::string field, std::string message) {
  return Problem(400, "bad-parameter", "Bad query parameter", message, {{std::move(field), "invalid", message}});
}

Response NotFound(const std::string& id) { return Problem(404, "not-found", "No such ad", "no ad " + id); }

Response ReadError(const cqrs::Status& st) {
  return Problem(503, "unavailable", "The read model is unavailable", st.ToString());
}

}  // namespace

void ReadApi::AddRoutes() {
  router_.Add("GET", "/v1/ads/{id}", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    const std::string id = req.params["id"];
    if (!cqrs::Uuid::Parse(id)) return respond(NotFound(id));
    std::optional<std::uint64_t> min_position;
    if (auto p = req.Query("min_position")) {
      min_position = ParseUint(*p);
      if (!min_position) return respond(BadParam("min_position", "min_position must be a log position (integer)"));
    }
    std::uint64_t wait_ms = 1000;
    if (auto w = req.Query("wait_ms")) {
      auto v = ParseUint(*w);
      if (!v || *v > 10'000) return respond(BadParam("wait_ms", "wait_ms must be an integer from 0 to 10000"));
      wait_ms = *v;
    }
    auto answer = [this, respond, id, who = *who, min_position] {
      if (min_position && runner()->position().value() < *min_position) {
        Response r = Problem(503, "read-model-behind", "The read model has not caught up yet",
                             "position " + std::to_string(*min_position) + " is not projected yet; retry");
        r.headers.emplace_back("Retry-After", "1");
        return respond(std::move(r));
      }
      auto row = queries().Get(id);
      if (!row.ok()) return respond(ReadError(row.status()));
      if (!*row || (!who.admin && (*row)->retailer != who.retailer)) return respond(NotFound(id));
      Response r = Response::Json(200, ads::AdRowJson(**row));
      r.headers.emplace_back("ETag", "\"" + std::to_string((*row)->version) + "\"");
      respond(std::move(r));
    };
    if (!min_position || runner()->position().value() >= *min_position) return answer();
    // Read-your-writes: wait (bounded) off the I/O threads for the projection to reach the write.
    pool().Submit([this, answer, min_position, wait_ms] {
      runner()->WaitFor(cqrs::Position(*min_position), Clock::now() + std::chrono::milliseconds(wait_ms));
      answer();
    });
  });

  router_.Add("GET", "/v1/ads", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    std::string retailer = who->retailer;
    if (who->admin) {
      auto r = req.Query("retailer");
      if (!r) return respond(BadParam("retailer", "an admin lists one retailer's ads: pass retailer="));
      retailer = std::string(*r);
    }
    std::optional<std::string> status;
    if (auto s = req.Query("status")) {
      if (*s != "pending" && *s != "approved" && *s != "rejected" && *s != "withdrawn") {
        return respond(BadParam("status", "status must be pending, approved, rejected or withdrawn"));
      }
      status = std::string(*s);
    }
    int limit = 50;
    if (auto l = req.Query("limit")) {
      auto v = ParseUint(*l);
      if (!v || *v < 1 || *v > 500) return respond(BadParam("limit", "limit must be an integer from 1 to 500"));
      limit = static_cast<int>(*v);
    }
    std::optional<ads::AdQueries::Cursor> cursor;
    if (auto c = req.Query("cursor")) {
      cursor = ads::ParseCursor(*c);
      if (!cursor) return respond(BadParam("cursor", "cursor must be the next_cursor of a listing"));
    }
    auto rows = queries().List(retailer, status, limit + 1, cursor);
    if (!rows.ok()) return respond(ReadError(rows.status()));
    const bool more = static_cast<int>(rows->size()) > limit;
    if (more) rows->pop_back();
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (const auto& row : *rows) {
      const std::string j = ads::AdRowJson(row);
      w.RawValue(j.data(), j.size(), rapidjson::kObjectType);
    }
    w.EndArray();
    w.Key("next_cursor");
    if (more) {
      w.String(ads::CursorOf(rows->back()).c_str());
    } else {
      w.Null();
    }
    w.EndObject();
    respond(Response::Json(200, std::string(buf.GetString(), buf.GetSize())));
  });

  router_.Add("GET", "/v1/ads/{id}/events", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    const std::string id = req.params["id"];
    auto ad_id = cqrs::Uuid::Parse(id);
    if (!ad_id) return respond(NotFound(id));
    // A page of the history: `limit` events after the version `cursor` names (the previous page's
    // next_cursor). However long the history, each page costs the same.
    std::uint64_t limit = 1000;
    if (auto l = req.Query("limit")) {
      auto v = ParseUint(*l);
      if (!v || *v < 1 || *v > 10'000) return respond(BadParam("limit", "limit must be an integer from 1 to 10000"));
      limit = *v;
    }
    std::uint64_t after = 0;
    if (auto c = req.Query("cursor")) {
      auto v = ParseUint(*c);
      if (!v || *v > (std::uint64_t{1} << 62)) return respond(BadParam("cursor", "cursor must be the next_cursor of a page"));
      after = *v;
    }
    const std::string stream = ads::events::StreamOf(*ad_id);
    auto submitted = store().ReadStream(stream, cqrs::StreamVersion(1), 1);
    if (!submitted.ok()) return respond(ReadError(submitted.status()));
    if (submitted->empty()) return respond(NotFound(id));
    auto first = ads::events::ParseContent(submitted->front().payload);
    if (!first.ok() || (!who->admin && first->retailer != who->retailer)) return respond(NotFound(id));
    auto events = store().ReadStream(stream, cqrs::StreamVersion(after + 1), limit + 1);
    if (!events.ok()) return respond(ReadError(events.status()));
    const bool more = events->size() > limit;
    if (more) events->pop_back();
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("ad_id");
    w.String(id.c_str());
    w.Key("events");
    w.StartArray();
    for (const auto& e : *events) {
      w.StartObject();
      w.Key("position");
      w.Uint64(e.position.value());
      w.Key("version");
      w.Uint64(e.version.value());
      w.Key("type");
      w.String(e.type.c_str());
      w.Key("event_id");
      w.String(e.event_id.ToString().c_str());
      w.Key("causation_id");
      w.String(e.causation_id.ToString().c_str());
      w.Key("recorded_at");
      w.String(ads::Rfc3339(e.timestamp_us).c_str());
      w.Key("hash");
      w.String(cqrs::ToHex(e.hash).c_str());
      w.Key("data");
      w.RawValue(e.payload.data(), e.payload.size(), rapidjson::kObjectType);
      w.EndObject();
    }
    w.EndArray();
    w.Key("next_cursor");
    if (more) {
      w.String(std::to_string(events->back().version.value()).c_str());
    } else {
      w.Null();
    }
    w.EndObject();
    respond(Response::Json(200, std::string(buf.GetString(), buf.GetSize())));
  });

  router_.Add("GET", "/v1/reports/daily", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    std::string retailer = who->retailer;
    if (who->admin) {
      auto r = req.Query("retailer");
      if (!r) return respond(BadParam("retailer", "an admin reports on one retailer: pass retailer="));
      retailer = std::string(*r);
    }
    auto date = req.Query("date");
    if (!date || !ads::ParseRfc3339(std::string(*date) + "T00:00:00Z")) {
      return respond(BadParam("date", "date must be a day as YYYY-MM-DD"));
    }
    auto rows = queries().DecidedOn(retailer, std::string(*date));
    if (!rows.ok()) return respond(ReadError(rows.status()));
    Response r{200, "text/csv; charset=utf-8", ads::DailyReportCsv(*rows), {}};
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"ads-" + retailer + "-" + std::string(*date) + ".csv\"");
    respond(std::move(r));
  });
}

}  // namespace adsd::app
