// The operator's routes: health, readiness, metrics, the API contract, the log's verification,
// parked streams, replay, rebuild.

#include <chrono>

#include "ads/json_writer.h"
#include "app/adsd/admin_api.h"
#include "app/adsd/authorize.h"
#include "app/adsd/openapi_document.h"
#include "http/problem.h"

namespace adsd::app {

namespace {

std::string ParkedJson(const std::vector<cqrs::projection::ParkedStream>& parked) {
  ads::JsonWriter w;
  w.StartObject();
  w.Key("parked");
  w.StartArray();
  for (const auto& p : parked) {
    w.StartObject();
    w.Key("stream");
    w.String(p.stream.c_str());
    w.Key("first_position");
    w.Uint64(p.first_position.value());
    w.Key("events");
    w.Int64(p.events);
    w.Key("error");
    w.String(p.error.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Text();
}

// A read model shared in PostgreSQL is written by one process: elsewhere, say where to go.
Response WriterUnavailable(const cqrs::Status& st) {
  return Problem(503, "unavailable", "Read model writer unavailable here", st.message());
}

}  // namespace

void AdminApi::AddRoutes() {
  router_.Add("GET", "/healthz",
              [](Request&, Responder respond) { respond(Response::Json(200, R"({"status":"ok"})")); });
  router_.Add("GET", "/readyz", [this](Request&, Responder respond) {
    const ReadinessReport report = readiness_();
    respond(Response::Json(IsReady(report) ? 200 : 503, ReadinessJson(report)));
  });
  router_.Add("GET", "/metrics", [this](Request&, Responder respond) {
    respond(Response{200, "text/plain; version=0.0.4", metrics_.Exposition(), {}, {}});
  });
  // The contract needs no token and is not rate limited: tools read it before they have a key.
  router_.Add("GET", "/v1/openapi.json",
              [](Request&, Responder respond) { respond(Response::Json(200, std::string(OpenApiDocument()))); });
  AddVerifyRoute();
  if (read_side_ != nullptr) AddReadModelRoutes();
}

void AdminApi::AddVerifyRoute() {
  // The log's frames, positions and hash chain, walked from the start (as `adsctl verify`).
  router_.Add("GET", "/v1/admin/verify", [this](Request& req, Responder respond) {
    if (!Authorize(*this, req, respond, Access::kAdminOnly)) return;
    pool_.Submit(respond, [this, respond] {
      const auto began = std::chrono::steady_clock::now();
      auto report = verify_log_();
      if (!report.ok()) {
        return respond(Problem(503, "unavailable", "The event log cannot be read",
                               "the log could not be walked (" +
                                   std::string(cqrs::StatusCodeName(report.status().code())) + "); retry shortly"));
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      std::string body = LogVerifyJson(*report);
      body.insert(body.size() - 1, ",\"intact\":" + std::string(report->problem ? "false" : "true") +
                                       ",\"seconds\":" + std::to_string(seconds));
      respond(Response::Json(200, std::move(body)));
    });
  });
}

void AdminApi::AddReadModelRoutes() {
  // Parked streams: ads whose events the read model could not apply (see cqrs/projection).
  router_.Add("GET", "/v1/admin/parked", [this](Request& req, Responder respond) {
    if (!Authorize(*this, req, respond, Access::kAdminOnly)) return;
    auto parked = read_side_->runner()->ListParked();
    if (!parked.ok()) return respond(Problem(503, "unavailable", "Read model unavailable", parked.status().ToString()));
    respond(Response::Json(200, ParkedJson(*parked)));
  });
  router_.Add(
      "POST", "/v1/admin/parked/{stream}/replay",
      [this](Request& req, Responder respond) {
        if (!Authorize(*this, req, respond, Access::kAdminOnly)) return;
        const cqrs::Status st = read_side_->runner()->ReplayParked(req.params["stream"]);
        if (st.code() == cqrs::StatusCode::kNotFound)
          return respond(Problem(404, "not-parked", "Not parked", st.message()));
        if (st.code() == cqrs::StatusCode::kUnavailable) return respond(WriterUnavailable(st));
        if (!st.ok()) return respond(Problem(409, "still-failing", "Replay failed", st.ToString()));
        respond(Response::Json(200, R"({"replayed":true})"));
      },
      http::RouteOptions{.body_content_type = ""});
  router_.Add(
      "POST", "/v1/admin/rebuild",
      [this](Request& req, Responder respond) {
        if (!Authorize(*this, req, respond, Access::kAdminOnly)) return;
        pool_.Submit(respond, [this, respond] {
          auto r = read_side_->Rebuild();
          if (r.status().code() == cqrs::StatusCode::kUnavailable) return respond(WriterUnavailable(r.status()));
          if (!r.ok()) return respond(Problem(500, "rebuild-failed", "Rebuild failed", r.status().ToString()));
          respond(Response::Json(200, "{\"rebuilt\":\"ads\",\"events\":" + std::to_string(r->events) +
                                          ",\"seconds\":" + std::to_string(r->seconds) + "}"));
        });
      },
      http::RouteOptions{.body_content_type = ""});
}

}  // namespace adsd::app
