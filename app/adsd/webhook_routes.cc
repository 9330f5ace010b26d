// The webhook routes. Registration resolves the endpoint's host (the address policy), so it runs
// on the blocking pool; the rest are short statements (SQLite, or PostgreSQL in the distributed
// shape) on the HTTP thread.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "ads/notify/status_change.h"
#include "ads/read/read_model.h"
#include "app/adsd/authorize.h"
#include "app/adsd/webhook_api.h"
#include "cqrs/core/time.h"
#include "http/problem.h"
#include "http/target.h"

namespace adsd::app {

namespace {

using ads::notify::DeliveryFilter;
using ads::notify::WebhookDelivery;
using ads::notify::WebhookEndpoint;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void EndpointJson(Writer& w, const WebhookEndpoint& e, bool with_secret) {
  w.StartObject();
  w.Key("id");
  Str(w, e.id);
  w.Key("url");
  Str(w, e.url);
  w.Key("events");
  w.StartArray();
  for (const auto& t : e.events) Str(w, t);
  w.EndArray();
  w.Key("retailer");
  Str(w, e.retailer);
  w.Key("created_at");
  Str(w, cqrs::FormatRfc3339(e.created_us, cqrs::TimePrecision::kMillis));
  if (with_secret) {
    w.Key("secret");
    Str(w, e.secret);
  }
  w.EndObject();
}

void DeliveryJson(Writer& w, const WebhookDelivery& d) {
  w.StartObject();
  w.Key("id");
  Str(w, d.id);
  w.Key("type");
  Str(w, d.type);
  w.Key("ad_id");
  Str(w, d.ad_id);
  w.Key("position");
  w.Uint64(d.position.value());
  w.Key("state");
  Str(w, ads::notify::DeliveryStateName(d.state));
  w.Key("attempts");
  w.Int(d.attempts);
  if (d.state == ads::notify::DeliveryState::kPending) {
    w.Key("next_attempt_at");
    Str(w, cqrs::FormatRfc3339(d.next_attempt_us, cqrs::TimePrecision::kMillis));
  }
  w.Key("last_status");
  if (d.last_status) {
    w.Int(*d.last_status);
  } else {
    w.Null();
  }
  w.Key("last_error");
  if (d.last_error.empty()) {
    w.Null();
  } else {
    Str(w, d.last_error);
  }
  w.Key("payload");
  w.RawValue(d.body.data(), d.body.size(), rapidjson::kObjectType);
  w.EndObject();
}

Response NoWebhook(const std::string& id) { return Problem(404, "not-found", "No such webhook", "no webhook " + id); }

Response StoreError(const cqrs::Status& st) {
  Response r = Problem(
      503, "unavailable", "Webhooks are unavailable",
      "the webhook store could not be used (" + std::string(cqrs::StatusCodeName(st.code())) + "); retry shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response Invalid(std::string field, std::string message) {
  return Problem(422, "invalid-webhook", "The webhook is not valid", message, {{std::move(field), "invalid", message}});
}

Response Invalid(const std::vector<http::FieldProblem>& errors) {
  const std::string detail =
      errors.size() == 1 ? errors.front().message : std::to_string(errors.size()) + " fields are invalid";
  return Problem(422, "invalid-webhook", "The webhook is not valid", detail, errors);
}

// The registration's fields, checked in full before anything is resolved: every bad one is named
// at once (a field given twice as well, as the ad routes do), not only the first.
std::vector<http::FieldProblem> CheckRegistration(simdjson::dom::object body, std::string_view& url,
                                                  std::vector<std::string>& events) {
  std::vector<http::FieldProblem> errors;
  std::set<std::string_view> seen, twice;
  for (simdjson::dom::key_value_pair kv : body) {
    if (!seen.insert(kv.key).second && twice.insert(kv.key).second) {
      errors.push_back({std::string(kv.key), "duplicate_field", "field appears twice"});
    }
  }
  // The scheme, host and address of the url are checked by the registration itself.
  if (!twice.contains("url") && body["url"].get_string().get(url)) {
    errors.push_back({"url", "invalid", "url must be a string"});
  }
  if (twice.contains("events")) return errors;
  const auto bad_events = [&](std::string message) {
    errors.push_back({"events", "invalid", std::move(message)});
    return errors;
  };
  simdjson::dom::array events_array;
  if (body["events"].get_array().get(events_array)) return bad_events("events must be an array of status change types");
  for (simdjson::dom::element e : events_array) {
    std::string_view t;
    if (e.get_string().get(t)) return bad_events("events must hold strings");
    if (!ads::notify::IsChangeType(t)) return bad_events("events: unknown type '" + http::PrintableUtf8(t) + "'");
    if (std::find(events.begin(), events.end(), t) == events.end()) events.emplace_back(t);
  }
  if (events.empty()) return bad_events("events: name at least one status change type");
  return errors;
}

// The retailer whose webhooks a request names: its own, or for an admin the retailer= parameter
// (empty: every retailer's, where a route allows it).
std::string Owner(const http::Principal& who, const Request& req) {
  if (!who.admin) return who.retailer;
  return std::string(req.Query("retailer").value_or(""));
}

}  // namespace

void WebhookApi::AddRoutes() {
  AddRegisterRoute();
  AddListRoute();
  AddRemoveRoute();
  AddDeliveriesRoute();
  AddRetryRoute();
}

// POST /v1/webhooks: register an endpoint (resolving its host on the blocking pool).
void WebhookApi::AddRegisterRoute() {
  router_.Add("POST", "/v1/webhooks", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    if (who->admin) {
      return respond(Problem(403, "forbidden", "Forbidden", "webhooks belong to a retailer: use a retailer's token"));
    }
    simdjson::dom::parser parser;
    simdjson::padded_string padded(req.body);
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) || !doc.is_object()) {
      return respond(Problem(400, "malformed-json", "Malformed JSON", "the body is not a JSON object"));
    }
    std::string_view url;
    std::vector<std::string> events;
    if (auto errors = CheckRegistration(doc.get_object().value_unsafe(), url, events); !errors.empty()) {
      return respond(Invalid(errors));
    }
    const bool queued = pool_.TrySubmit([this, respond, retailer = who->retailer, url = std::string(url), events] {
      auto e = webhooks_.Register(retailer, url, events);
      if (!e.ok()) {
        const auto& st = e.status();
        if (st.code() == cqrs::StatusCode::kAlreadyExists) {
          return respond(Problem(409, "too-many-webhooks", "Too many webhooks", st.message()));
        }
        if (st.code() == cqrs::StatusCode::kInvalidArgument) {
          return respond(Invalid(st.message().starts_with("events") ? "events" : "url", st.message()));
        }
        if (st.code() == cqrs::StatusCode::kUnavailable && st.message().starts_with("cannot resolve")) {
          return respond(Invalid("url", st.message()));
        }
        return respond(StoreError(st));
      }
      rapidjson::StringBuffer buf;
      Writer w(buf);
      EndpointJson(w, *e, true);
      Response r = Response::Json(201, buf.GetString());
      r.headers.emplace_back("Location", "/v1/webhooks/" + e->id);
      respond(std::move(r));
    });
    if (!queued) respond(http::Overloaded("too many requests are waiting for a thread"));
  });
}

// GET /v1/webhooks: a retailer's endpoints (an admin's: any retailer's, or all).
void WebhookApi::AddListRoute() {
  router_.Add(
      "GET", "/v1/webhooks",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto endpoints = webhooks_.List(Owner(*who, req));
        if (!endpoints.ok()) return respond(StoreError(endpoints.status()));
        rapidjson::StringBuffer buf;
        Writer w(buf);
        w.StartObject();
        w.Key("webhooks");
        w.StartArray();
        for (const auto& e : *endpoints) EndpointJson(w, e, false);
        w.EndArray();
        w.EndObject();
        respond(Response::Json(200, buf.GetString()));
      },
      http::RouteOptions{.query_params = {"retailer"}});
}

// DELETE /v1/webhooks/{id}.
void WebhookApi::AddRemoveRoute() {
  router_.Add("DELETE", "/v1/webhooks/{id}",
              [this](Request& req, Responder respond) {
                auto who = Authorize(*this, req, respond);
                if (!who) return;
                const std::string& id = req.params["id"];
                cqrs::Status st = webhooks_.Remove(id, who->admin ? "" : who->retailer);
                if (st.code() == cqrs::StatusCode::kNotFound) return respond(NoWebhook(id));
                if (!st.ok()) return respond(StoreError(st));
                respond(Response{204, "", "", {}, {}});
              },
              {.body_content_type = ""});
}

// GET /v1/webhooks/{id}/deliveries: an endpoint's deliveries, by state.
void WebhookApi::AddDeliveriesRoute() {
  router_.Add(
      "GET", "/v1/webhooks/{id}/deliveries",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        DeliveryFilter filter = DeliveryFilter::kAll;
        if (auto s = req.Query("status")) {
          if (*s == "failed") {
            filter = DeliveryFilter::kFailed;
          } else if (*s == "parked") {
            filter = DeliveryFilter::kParked;
          } else if (*s == "pending") {
            filter = DeliveryFilter::kPending;
          } else if (*s == "delivered") {
            filter = DeliveryFilter::kDelivered;
          } else {
            return respond(Problem(400, "bad-parameter", "Bad query parameter",
                                   "status must be failed, parked, pending or delivered",
                                   {{"status", "invalid", "status must be failed, parked, pending or delivered"}}));
          }
        }
        std::size_t limit = 100;
        if (auto l = req.Query("limit")) {
          unsigned v = 0;
          auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
          if (ec != std::errc() || p != l->data() + l->size() || v < 1 || v > 1000) {
            return respond(Problem(400, "bad-parameter", "Bad query parameter",
                                   "limit must be an integer from 1 to 1000",
                                   {{"limit", "invalid", "limit must be an integer from 1 to 1000"}}));
          }
          limit = v;
        }
        const std::string& id = req.params["id"];
        auto ds = webhooks_.Deliveries(id, who->admin ? "" : who->retailer, filter, limit);
        if (!ds.ok() && ds.status().code() == cqrs::StatusCode::kNotFound) return respond(NoWebhook(id));
        if (!ds.ok()) return respond(StoreError(ds.status()));
        rapidjson::StringBuffer buf;
        Writer w(buf);
        w.StartObject();
        w.Key("deliveries");
        w.StartArray();
        for (const auto& d : *ds) DeliveryJson(w, d);
        w.EndArray();
        w.EndObject();
        respond(Response::Json(200, buf.GetString()));
      },
      http::RouteOptions{.query_params = {"status", "limit"}});
}

// POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry.
void WebhookApi::AddRetryRoute() {
  router_.Add("POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
              [this](Request& req, Responder respond) {
                auto who = Authorize(*this, req, respond);
                if (!who) return;
                const std::string& id = req.params["id"];
                const std::string& delivery = req.params["delivery_id"];
                cqrs::Status st = webhooks_.Retry(id, who->admin ? "" : who->retailer, delivery);
                if (st.code() == cqrs::StatusCode::kNotFound) {
                  return respond(Problem(404, "not-found", "No such delivery", st.message()));
                }
                if (st.code() == cqrs::StatusCode::kAlreadyExists) {
                  return respond(Problem(409, "already-delivered", "The delivery was delivered", st.message()));
                }
                if (!st.ok()) return respond(StoreError(st));
                respond(Response::Json(202, "{\"id\":\"" + delivery + "\",\"state\":\"pending\"}"));
              },
              {.body_content_type = ""});
}

}  // namespace adsd::app
