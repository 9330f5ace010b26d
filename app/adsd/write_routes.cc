// The Write API: submit, change and withdraw ads, through the configured pipeline.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdlib>

#include "ads/ad_json.h"
#include "cqrs/core/sha256.h"
#include "ads/events.h"
#include "app/adsd/service.h"
#include "http/problem.h"

namespace adsd::app {

namespace {

using http::Problem;
using http::Request;
using http::Responder;
using http::Response;

std::vector<http::FieldProblem> ToProblems(const std::vector<ads::FieldError>& errors) {
  std::vector<http::FieldProblem> out;
  for (const auto& e : errors) out.push_back({e.field, e.code, e.message});
  return out;
}

Response Invalid(const std::vector<ads::FieldError>& errors) {
  return Problem(400, "validation", "The ad is not valid",
                 std::to_string(errors.size()) + (errors.size() == 1 ? " field is" : " fields are") + " invalid",
                 ToProblems(errors));
}

Response StoreError(const cqrs::Status& st) {
  if (st.code() == cqrs::StatusCode::kVersionConflict) {
    return Problem(412, "stale-version", "The ad has changed", st.message());
  }
  return Problem(503, "unavailable", "The event log is unavailable", st.ToString());
}

// {"ad_id", "status", "version", "position"}: what a write answers.
std::string Accepted(const std::string& ad_id, std::string_view status, const cqrs::AppendResult& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("ad_id");
  w.String(ad_id.c_str());
  w.Key("status");
  w.String(status.data(), static_cast<rapidjson::SizeType>(status.size()));
  w.Key("version");
  w.Uint64(r.last_version.value());
  w.Key("position");
  w.Uint64(r.last_position.value());
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// The ad's current content and state, read from its stream (the write model).
struct Current {
  ads::events::AdContent content;
  cqrs::StreamVersion version;
  bool withdrawn = false;
};

cqrs::Result<std::optional<Current>> LoadCurrent(cqrs::EventStore& store, const std::string& stream) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(stream, cqrs::StreamVersion(1), 10'000));
  if (events.empty()) return std::optional<Current>();
  Current c;
  for (const auto& e : events) {
    if (e.type == ads::events::kSubmitted || e.type == ads::events::kChanged) {
      ASSIGN_OR_RETURN(c.content, ads::events::ParseContent(e.payload));
    }
    if (e.type == ads::events::kWithdrawn) c.withdrawn = true;
    c.version = e.version;
  }
  return std::optional<Current>(std::move(c));
}

std::optional<cqrs::StreamVersion> ParseIfMatch(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.starts_with("W/")) return std::nullopt;
  std::uint64_t n = 0;
  if (v.empty() || v.size() > 18) return std::nullopt;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return cqrs::StreamVersion(n);
}

cqrs::EventData Event(std::string_view type, std::string payload, const cqrs::Uuid& correlation) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();
  e.type = std::string(type);
  e.schema_version = ads::events::kSchemaVersion;
  e.payload = std::move(payload);
  e.correlation_id = correlation;
  return e;
}

// Idempotency-Key: a retry of the same request (same key, same body) within this window gets the
// first answer; the same key with another body is refused.
constexpr std::int64_t kIdempotencyWindowUs = 24LL * 3600 * 1'000'000;

bool ValidIdempotencyKey(std::string_view k) {
  return !k.empty() && k.size() <= 255 &&
         std::all_of(k.begin(), k.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string RequestMetadata(std::string_view body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("request_sha256");
  w.String(cqrs::ToHex(cqrs::Sha256(body)).c_str());
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

// For a submission that turned out to be a retry: is it the same request, in time?
std::optional<Response> CheckRetry(cqrs::EventStore& store, const std::string& stream, const std::string& metadata) {
  auto first = store.ReadStream(stream, cqrs::StreamVersion(1), 1);
  if (!first.ok() || first->empty()) return StoreError(first.status());
  const cqrs::RecordedEvent& e = first->front();
  if (e.metadata != metadata) {
    return Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                   "this Idempotency-Key was used for a different request");
  }
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (now - e.timestamp_us > kIdempotencyWindowUs) {
    return Problem(422, "idempotency-key-expired", "Idempotency-Key expired",
                   "this Idempotency-Key was used more than 24 hours ago; use a new one");
  }
  return std::nullopt;  // a true retry: answer as the first time
}

}  // namespace

void AdService::SubmitAd(Request& req, const Responder& respond, bool on_pool,
                         ads::LatencyModel::Clock::time_point began) {
  using Clock = ads::LatencyModel::Clock;
  auto who = Authorize(*this, req, respond);
  if (!who) return;
  if (who->admin) {
    return respond(Problem(403, "forbidden", "Forbidden", "ads are submitted with a retailer's token"));
  }
  ads::ParsedAd parsed = ads::ParseAd(req.body);
  if (!parsed.ok()) return respond(Invalid(parsed.errors));
  std::optional<std::string_view> idem = req.Header("Idempotency-Key");
  if (idem && !ValidIdempotencyKey(*idem)) {
    return respond(Problem(400, "bad-idempotency-key", "Bad Idempotency-Key",
                           "Idempotency-Key must be 1-255 visible ASCII characters",
                           {{"Idempotency-Key", "invalid", "1-255 visible ASCII characters"}}));
  }
  // The ad id is chosen before anything is written. With an Idempotency-Key it is derived from
  // the retailer and the key, so a retry names the same ad and the same event, and the store
  // recognizes it: exactly one ad per key, with no table of keys to keep in step with the log.
  const cqrs::Uuid ad_id =
      idem ? ads::events::DerivedId(cqrs::Uuid::Nil(), "idempotency\x1f" + who->retailer + "\x1f" + std::string(*idem))
           : cqrs::Uuid::V7();
  const std::string stream = ads::events::StreamOf(ad_id);
  cqrs::EventData submitted =
      Event(ads::events::kSubmitted, ads::events::ContentPayload(who->retailer, parsed.ad), ad_id);
  std::string metadata;
  if (idem) {
    submitted.event_id = ads::events::DerivedId(ad_id, "submitted");
    metadata = RequestMetadata(req.body);
    submitted.metadata = metadata;
  }
  latency().Pad(ads::Step::kBasicValidation, began);
  // Steps that wait run on the blocking pool, never on an HTTP I/O thread.
  auto blocking = [this, on_pool, &respond](std::function<void()> task) {
    if (on_pool) return task();
    pool().Submit(respond, std::move(task));
  };

  if (pipeline() == Pipeline::kCqrs) {
    // Store the ad and its event in one transaction, then publish; the relay covers a crash.
    submitted.timestamp_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    blocking([this, respond, stream, submitted, retailer = who->retailer, id = ad_id.ToString()] {
      Clock::time_point step = Clock::now();
      cqrs::Status stored = outbox()->Store(id, retailer, stream, submitted);
      const bool retry = stored.code() == cqrs::StatusCode::kAlreadyExists;  // same Idempotency-Key
      if (!stored.ok() && !retry) return respond(StoreError(stored));
      latency().Pad(ads::Step::kStoreIncomingRecord, step);
      if (Failpoint("after-outbox-commit")) std::_Exit(3);
      step = Clock::now();
      auto r = outbox()->Publish(store(), stream, submitted);
      if (!r.ok()) return respond(StoreError(r.status()));
      latency().Pad(ads::Step::kPublishToEventStream, step);
      if (retry || r->idempotent_replay) {
        if (auto refused = CheckRetry(store(), stream, submitted.metadata)) return respond(std::move(*refused));
      }
      Response res = Response::Json(202, Accepted(id, "pending", *r));
      res.headers.emplace_back("Location", "/v1/ads/" + id);
      respond(std::move(res));
    });
    return;
  }
  if (pipeline() == Pipeline::kSync) {
    // The baseline: the client waits for detailed validation and the read model.
    blocking([this, respond, stream, submitted, id = ad_id.ToString()] {
      const Clock::time_point step = Clock::now();
      auto r = store().Append(stream, cqrs::ExpectedVersion::NoStream(), std::span(&submitted, 1));
      if (!r.ok()) return respond(StoreError(r.status()));
      latency().Pad(ads::Step::kStoreIncomingRecord, step);
      if (r->idempotent_replay) {
        if (auto refused = CheckRetry(store(), stream, submitted.metadata)) return respond(std::move(*refused));
      }
      auto events = store().ReadStream(stream, cqrs::StreamVersion(1), 1);
      if (!events.ok() || events->empty()) return respond(StoreError(events.status()));
      // Storing the results includes the read model the client is answered from.
      cqrs::Status decided = worker().Decide(events->front(), [this] {
        runner()->WaitFor(store().Head(), std::chrono::steady_clock::now() + std::chrono::seconds(10));
      });
      if (!decided.ok()) {
        // The ad is stored; the consumer decides it once the validator answers again.
        return respond(Problem(503, "validator-unavailable", "Detailed validation is unavailable",
                               "ad " + id + " is stored and will be decided later: " + decided.message()));
      }
      auto row = queries().Get(id);
      if (!row.ok() || !*row) return respond(Problem(503, "unavailable", "Read model behind", "try GET later"));
      Response res = Response::Json(201, ads::AdRowJson(**row));
      res.headers.emplace_back("Location", "/v1/ads/" + id);
      respond(std::move(res));
    });
    return;
  }
  // async: the submission is published durably to the log; consumers store and judge it.
  auto answer = [this, respond, stream, metadata, id = ad_id.ToString()](cqrs::Result<cqrs::AppendResult> r) {
    if (!r.ok()) return respond(StoreError(r.status()));
    if (r->idempotent_replay) {
      if (auto refused = CheckRetry(store(), stream, metadata)) return respond(std::move(*refused));
    }
    Response res = Response::Json(202, Accepted(id, "pending", *r));
    res.headers.emplace_back("Location", "/v1/ads/" + id);
    respond(std::move(res));
  };
  began = Clock::now();
  if (on_pool) {  // modeled latencies: this thread may wait
    auto r = store().Append(stream, cqrs::ExpectedVersion::NoStream(), std::span(&submitted, 1));
    latency().Pad(ads::Step::kPublishToEventStream, began);
    return answer(std::move(r));
  }
  store().AppendAsync(stream, cqrs::ExpectedVersion::NoStream(), std::span(&submitted, 1),
                      [this, began, answer = std::move(answer)](cqrs::Result<cqrs::AppendResult> r) {
                        latency().Pad(ads::Step::kPublishToEventStream, began);  // timing only: never sleeps here
                        answer(std::move(r));
                      });
}

void AdService::AddWriteRoutes() {
  router_.Add("POST", "/v1/ads", [this](Request& req, Responder respond) {
    const auto arrived = ads::LatencyModel::Clock::now();
    if (latency().enabled()) {
      // Modeled steps sleep: the whole request runs on the blocking pool. Its first step began
      // when the request arrived, so the hand-over to the pool counts in it.
      pool().Submit(respond, [this, req = std::move(req), respond, arrived]() mutable {
        SubmitAd(req, respond, true, arrived);
      });
      return;
    }
    SubmitAd(req, respond, false, arrived);
  });

  router_.Add("PATCH", "/v1/ads/{id}", [this](Request& req, Responder respond) {
    auto who = Authorize(*this, req, respond);
    if (!who) return;
    auto id = cqrs::Uuid::Parse(req.params["id"]);
    if (!id) return respond(Problem(404, "not-found", "No such ad", "no ad " + req.params["id"]));
    auto if_match = req.Header("If-Match");
    if (!if_match) {
      return respond(Problem(428, "precondition-required", "If-Match required",
                             "send If-Match: \"<version>\" with the version you read"));
    }
    auto expected = ParseIfMatch(*if_match);
    if (!expected) return respond(Problem(400, "bad-if-match", "Bad If-Match", "If-Match must be \"<version>\""));
    pool().Submit(respond, [this, respond, body = req.body, who = *who, ad_id = *id, expected = *expected] {
      const std::string stream = ads::events::StreamOf(ad_id);
      auto current = LoadCurrent(store(), stream);
      if (!current.ok()) return respond(StoreError(current.status()));
      if (!*current || (!who.admin && (*current)->content.retailer != who.retailer)) {
        return respond(Problem(404, "not-found", "No such ad", "no ad " + ad_id.ToString()));
      }
      if ((*current)->withdrawn) return respond(Problem(409, "withdrawn", "The ad is withdrawn", "it cannot change"));
      if ((*current)->version != expected) {
        return respond(Problem(412, "stale-version", "The ad has changed",
                               "the ad is at version " + std::to_string((*current)->version.value())));
      }
      ads::ParsedAd parsed = ads::ParseAdPatch(body, (*current)->content.ad);
      if (!parsed.ok()) return respond(Invalid(parsed.errors));
      cqrs::EventData changed =
          Event(ads::events::kChanged, ads::events::ContentPayload((*current)->content.retailer, parsed.ad), ad_id);
      auto r = store().Append(stream, cqrs::ExpectedVersion::Exact(expected), std::span(&changed, 1));
      if (!r.ok()) return respond(StoreError(r.status()));
      respond(Response::Json(202, Accepted(ad_id.ToString(), "pending", *r)));
    });
  });

  router_.Add(
      "DELETE", "/v1/ads/{id}",
      [this](Request& req, Responder respond) {
        auto who = Authorize(*this, req, respond);
        if (!who) return;
        auto id = cqrs::Uuid::Parse(req.params["id"]);
        if (!id) return respond(Problem(404, "not-found", "No such ad", "no ad " + req.params["id"]));
        std::optional<cqrs::StreamVersion> expected;
        if (auto h = req.Header("If-Match")) expected = ParseIfMatch(*h);
        pool().Submit(respond, [this, respond, who = *who, ad_id = *id, expected] {
          const std::string stream = ads::events::StreamOf(ad_id);
          auto current = LoadCurrent(store(), stream);
          if (!current.ok()) return respond(StoreError(current.status()));
          if (!*current || (!who.admin && (*current)->content.retailer != who.retailer)) {
            return respond(Problem(404, "not-found", "No such ad", "no ad " + ad_id.ToString()));
          }
          if ((*current)->withdrawn) return respond(Problem(409, "withdrawn", "Already withdrawn", ad_id.ToString()));
          const cqrs::StreamVersion at = expected.value_or((*current)->version);
          cqrs::EventData withdrawn =
              Event(ads::events::kWithdrawn, ads::events::WithdrawnPayload((*current)->content.retailer), ad_id);
          auto r = store().Append(stream, cqrs::ExpectedVersion::Exact(at), std::span(&withdrawn, 1));
          if (!r.ok()) return respond(StoreError(r.status()));
          respond(Response::Json(202, Accepted(ad_id.ToString(), "withdrawn", *r)));
        });
      },
      http::RouteOptions{.body_content_type = ""});
}

}  // namespace adsd::app
