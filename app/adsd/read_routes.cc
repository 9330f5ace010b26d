// The Read API: an ad and its verdict, a retailer's ads by status, an ad's history, the report.

#include <charconv>

#include "ads/ad_json.h"
#include "ads/events.h"
#include "ads/json_writer.h"
#include "ads/read_model.h"
#include "app/adsd/authorize.h"
#include "app/adsd/read_api.h"
#include "http/problem.h"
#include "http/target.h"

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

// The cause stays in the server: a database's message can hold SQL text and file paths.
Response ReadError(const cqrs::Status& st) {
  Response r =
      Problem(503, "unavailable", "The read model is unavailable",
              "the read model could not be read (" + std::string(cqrs::StatusCodeName(st.code())) + "); retry shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A retailer named in a query (admin listings and reports): it ends up in a file name and in
// SQL parameters, so only a plain name is accepted.
std::optional<Response> CheckRetailerParam(std::string_view r) {
  if (r.empty() || r.size() > 128 || !http::IsValidUtf8(r) || http::PrintableUtf8(r) != r) {
    return BadParam("retailer", "retailer must be 1-128 bytes of UTF-8 text without control characters");
  }
  return std::nullopt;
}

// The retailer a listing or report is about: the caller's own, or for an admin the retailer= it
// must name (`what` says what needs it); nullopt when the 400 has been sent.
std::optional<std::string> RetailerOf(const http::Principal& who, const Request& req, const Responder& respond,
                                      std::string_view what) {
  if (!who.admin) return who.retailer;
  auto r = req.Query("retailer");
  if (!r) {
    respond(BadParam("retailer", "an admin " + std::string(what) + ": pass retailer="));
    return std::nullopt;
  }
  if (auto bad = CheckRetailerParam(*r)) {
    respond(std::move(*bad));
    return std::nullopt;
  }
  return std::string(*r);
}

// Calls `answer` once the live read model reaches `p` or `deadline` passes, holding no thread
// meanwhile; sheds with 503 when too many reads wait already.
void WaitForPosition(const ReadSide& read_side, cqrs::Position p, Clock::time_point deadline, const Responder& respond,
                     std::function<void()> answer) {
  std::shared_ptr<cqrs::projection::Runner> live = read_side.runner();
  // The callback lives in the runner's registry: it must not own the runner (a cycle), only
  // recognize it.
  const cqrs::projection::Runner* waited_on = live.get();
  cqrs::Status st = live->NotifyAt(p, deadline, [&read_side, p, deadline, respond, answer, waited_on](bool reached) {
    // Not reached before the deadline: the runner was replaced (a rebuild) and dropped its waits;
    // wait on the new one for the time left.
    auto now_live = read_side.runner();  // null once the service stops
    if (!reached && Clock::now() < deadline && now_live && now_live.get() != waited_on) {
      return WaitForPosition(read_side, p, deadline, respond, answer);
    }
    answer();
  });
  if (!st.ok()) respond(http::Overloaded(st.message()));
}

// Calls `answer` once `visible()` holds, asked again each time the live read model moves on, or
// once `deadline` passes; holds no thread meanwhile.
void WaitUntil(const ReadSide& read_side, std::function<bool()> visible, Clock::time_point deadline,
               const Responder& respond, std::function<void()> answer) {
  auto live = read_side.runner();
  if (!live) return answer();
  // The position is read before asking: whatever the read model applies after it wakes us.
  const cqrs::Position next(live->position().value() + 1);
  if (visible() || Clock::now() >= deadline) return answer();
  WaitForPosition(read_side, next, deadline, respond,
                  [&read_side, visible = std::move(visible), deadline, respond, answer]() mutable {
                    WaitUntil(read_side, std::move(visible), deadline, respond, std::move(answer));
                  });
}

Response Behind(std::string detail) {
  Response r = Problem(503, "read-model-behind", "The read model has not caught up yet", std::move(detail));
  r.headers.emplace_back("Retry-After", "1");
  return r;
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
        const std::string id = ad_id->ToString();  // the canonical, lower-case form
        std::optional<std::uint64_t> min_position;
        if (auto p = req.Query("min_position")) {
          min_position = ParseUint(*p);
          if (!min_position) return respond(BadParam("min_position", "min_position must be a log position (integer)"));
        }
        std::optional<std::uint64_t> min_version;
        if (auto v = req.Query("min_version")) {
          min_version = ParseUint(*v);
          if (!min_version)
            return respond(BadParam("min_version", "min_version must be a version of the ad (integer)"));
        }
        std::uint64_t wait_ms = 1000;
        if (auto w = req.Query("wait_ms")) {
          auto v = ParseUint(*w);
          if (!v || *v > 10'000) return respond(BadParam("wait_ms", "wait_ms must be an integer from 0 to 10000"));
          wait_ms = *v;
        }
        const http::Principal who_ = *who;
        // Whether the read model shows what the read asks to see; a row of another retailer counts
        // as shown (the answer is 404 at once).
        auto visible = [this, id, who_, min_position, min_version]() -> bool {
          auto live = runner();
          if (!live) return true;
          if (min_position && live->position().value() < *min_position) return false;
          if (!min_version) return true;
          auto row = queries().Get(id);
          if (!row.ok()) return true;  // answered with the error
          if (!*row) return false;
          return (!who_.admin && (*row)->retailer != who_.retailer) ||
                 static_cast<std::uint64_t>((*row)->version) >= *min_version;
        };
        auto answer = [this, respond, id, who_, min_position, min_version] {
          auto live = runner();  // null once the service stops
          if (min_position && (!live || live->position().value() < *min_position)) {
            return respond(Behind("position " + std::to_string(*min_position) + " is not projected yet; retry"));
          }
          auto row = queries().Get(id);
          if (!row.ok()) return respond(ReadError(row.status()));
          const bool owned = *row && (who_.admin || (*row)->retailer == who_.retailer);
          if (*row && !owned) return respond(NotFound(id));
          if (min_version && (!*row || static_cast<std::uint64_t>((*row)->version) < *min_version)) {
            return respond(
                Behind("version " + std::to_string(*min_version) + " of ad " + id + " is not projected yet; retry"));
          }
          if (!*row) return respond(NotFound(id));
          Response r = Response::Json(200, ads::AdRowJson(**row));
          r.headers.emplace_back("ETag", "\"" + std::to_string((*row)->version) + "\"");
          respond(std::move(r));
        };
        if ((!min_position && !min_version) || wait_ms == 0) return answer();
        // Read-your-writes: the wait holds no thread (see Runner::NotifyAt); the answer is written
        // from the runner's waiter thread once the read model shows the write or the deadline passes.
        WaitUntil(read_side_, std::move(visible), Clock::now() + std::chrono::milliseconds(wait_ms), respond,
                  std::move(answer));
      },
      http::RouteOptions{.query_params = {"min_position", "min_version", "wait_ms"}});

  router_.Add(
      "GET", "/v1/ads",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto named = RetailerOf(*who, req, respond, "lists one retailer's ads");
        if (!named) return;
        std::string retailer = std::move(*named);
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
        ads::JsonWriter w;
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
        respond(Response::Json(200, w.Text()));
      },
      http::RouteOptions{.query_params = {"status", "limit", "cursor", "retailer"}});

  router_.Add(
      "GET", "/v1/ads/{id}/events",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto ad_id = cqrs::Uuid::Parse(req.params["id"]);
        if (!ad_id) return respond(NotFound(req.params["id"]));
        const std::string id = ad_id->ToString();  // the canonical, lower-case form
        // A page of the history: `limit` events after the version `cursor` names (the previous page's
        // next_cursor). However long the history, each page costs the same.
        std::uint64_t limit = 1000;
        if (auto l = req.Query("limit")) {
          auto v = ParseUint(*l);
          if (!v || *v < 1 || *v > 10'000)
            return respond(BadParam("limit", "limit must be an integer from 1 to 10000"));
          limit = *v;
        }
        std::uint64_t after = 0;
        if (auto c = req.Query("cursor")) {
          auto v = ParseUint(*c);
          if (!v || *v > (std::uint64_t{1} << 62))
            return respond(BadParam("cursor", "cursor must be the next_cursor of a page"));
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
        ads::JsonWriter w;
        w.StartObject();
        w.Field("ad_id", id);
        w.Key("events");
        w.StartArray();
        for (const auto& e : *events) {
          w.StartObject();
          w.Key("position");
          w.Uint64(e.position.value());
          w.Key("version");
          w.Uint64(e.version.value());
          w.Field("type", e.type);
          w.Field("event_id", e.event_id.ToString());
          w.Field("causation_id", e.causation_id.ToString());
          w.Field("recorded_at", ads::Rfc3339(e.timestamp_us));
          w.Field("hash", cqrs::ToHex(e.hash));
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
        respond(Response::Json(200, w.Text()));
      },
      http::RouteOptions{.query_params = {"limit", "cursor"}});

  router_.Add(
      "GET", "/v1/reports/daily",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto named = RetailerOf(*who, req, respond, "reports on one retailer");
        if (!named) return;
        std::string retailer = std::move(*named);
        auto date = req.Query("date");
        if (!date || !ads::ParseRfc3339(std::string(*date) + "T00:00:00Z")) {
          return respond(BadParam("date", "date must be a day as YYYY-MM-DD"));
        }
        auto rows = queries().DecidedOn(retailer, std::string(*date));
        if (!rows.ok()) return respond(ReadError(rows.status()));
        Response r{200, "text/csv; charset=utf-8", ads::DailyReportCsv(*rows), {}};
        // RFC 6266: an ASCII fallback name and the UTF-8 one; nothing from the client goes in raw.
        r.headers.emplace_back("Content-Disposition",
                               http::AttachmentDisposition("ads-" + retailer + "-" + std::string(*date) + ".csv"));
        respond(std::move(r));
      },
      http::RouteOptions{.query_params = {"date", "retailer"}});
}

}  // namespace adsd::app
