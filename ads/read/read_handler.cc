#include "ads/read/read_handler.h"

#include <memory>

#include "ads/events.h"
#include "ads/read/position_wait.h"
#include "cqrs/core/time.h"
#include "http/target.h"

namespace adsd::ads {

namespace {

ReadFailure NotFound(const std::string& id) { return {ReadFailureCode::kNotFound, "no ad " + id, {}}; }

// The cause stays in the server: a database's message can hold SQL text and file paths.
ReadFailure Unavailable(const cqrs::Status& st) {
  return {ReadFailureCode::kUnavailable, std::string(cqrs::StatusCodeName(st.code())), {}};
}

ReadFailure Behind(std::string detail) { return {ReadFailureCode::kBehind, std::move(detail), {}}; }

}  // namespace

ReadResult<std::string> RetailerOf(const Sender& sender, const std::optional<std::string>& named,
                                   std::string_view what) {
  if (!sender.admin) return sender.retailer;
  if (!named)
    return ReadFailure{ReadFailureCode::kInvalid, "an admin " + std::string(what) + ": pass retailer=", "retailer"};
  // It ends up in a file name and in SQL parameters: only a plain name is accepted.
  const std::string& r = *named;
  if (r.empty() || r.size() > 128 || !http::IsValidUtf8(r) || http::PrintableUtf8(r) != r) {
    return ReadFailure{ReadFailureCode::kInvalid,
                       "retailer must be 1-128 bytes of UTF-8 text without control characters", "retailer"};
  }
  return r;
}

bool AdReadHandler::Shows(const GetAd& q) const {
  auto live = read_side_.runner();
  if (!live) return true;
  if (q.min_position && live->position() < *q.min_position) return false;
  if (!q.min_version) return true;
  auto row = read_side_.queries().Get(q.ad_id.ToString());
  if (!row.ok()) return true;  // answered with the error
  if (!*row) return false;
  return !q.sender.MayAccess((*row)->retailer) || static_cast<std::uint64_t>((*row)->version) >= q.min_version->value();
}

ReadResult<AdRow> AdReadHandler::Answer(const GetAd& q) const {
  const std::string id = q.ad_id.ToString();  // the canonical, lower-case form
  auto live = read_side_.runner();            // null once the service stops
  if (q.min_position && (!live || live->position() < *q.min_position)) {
    return Behind("position " + std::to_string(q.min_position->value()) + " is not projected yet; retry");
  }
  auto row = read_side_.queries().Get(id);
  if (!row.ok()) return Unavailable(row.status());
  if (*row && !q.sender.MayAccess((*row)->retailer)) return NotFound(id);
  if (q.min_version && (!*row || static_cast<std::uint64_t>((*row)->version) < q.min_version->value())) {
    return Behind("version " + std::to_string(q.min_version->value()) + " of ad " + id +
                  " is not projected yet; retry");
  }
  if (!*row) return NotFound(id);
  return std::move(**row);
}

ReadResult<AdRow> AdReadHandler::AnswerAsOf(const GetAd& q) const {
  const std::string id = q.ad_id.ToString();
  const PastPoint& at = *q.as_of;
  if (at.position && *at.position > store_.Head()) {
    return ReadFailure{ReadFailureCode::kInvalid,
                       "at_position " + std::to_string(at.position->value()) + " is past the log's head (" +
                           std::to_string(store_.Head().value()) + ")",
                       "at_position"};
  }
  // The history up to the point, a page at a time: the cost grows with the ad's history then,
  // not with the log.
  constexpr std::size_t kPage = 1000;
  std::vector<cqrs::RecordedEvent> history;
  for (cqrs::StreamVersion from(1);;) {
    auto page = store_.ReadStream(events::StreamOf(q.ad_id), from, kPage);
    if (!page.ok()) return Unavailable(page.status());
    const bool last = page->size() < kPage || !at.Includes(page->back());
    for (auto& e : *page) history.push_back(std::move(e));
    if (last) break;
    from = cqrs::StreamVersion(history.back().version.value() + 1);
  }
  auto row = AdRowAt(history, at);
  if (!row.ok()) return Unavailable(row.status());
  if (!*row || !q.sender.MayAccess((*row)->retailer)) return NotFound(id);
  return std::move(**row);
}

void AdReadHandler::Get(GetAd query, GetAdDone done) const {
  if (query.as_of) return done(AnswerAsOf(query));
  if ((!query.min_position && !query.min_version) || query.wait.count() == 0) return done(Answer(query));
  // Read-your-writes: the wait holds no thread (see Runner::NotifyAt); the answer is made on the
  // runner's waiter thread once the read model shows the write or the deadline passes.
  auto q = std::make_shared<const GetAd>(std::move(query));
  WaitUntil(
      read_side_, [this, q] { return Shows(*q); }, WaitClock::now() + q->wait,
      [done](const cqrs::Status& st) {
        done(ReadFailure{ReadFailureCode::kOverloaded, st.message(), {}});
      },
      [this, q, done] { done(Answer(*q)); });
}

ReadResult<AdPage> AdReadHandler::List(const ListAds& q) const {
  auto retailer = RetailerOf(q.sender, q.retailer, "lists one retailer's ads");
  if (auto* f = std::get_if<ReadFailure>(&retailer)) return *f;
  auto rows = read_side_.queries().List(std::get<std::string>(retailer), q.status, q.limit + 1, q.after);
  if (!rows.ok()) return Unavailable(rows.status());
  AdPage page{std::move(*rows), std::nullopt};
  if (static_cast<int>(page.items.size()) > q.limit) {
    page.items.pop_back();
    page.next_cursor = CursorOf(page.items.back());
  }
  return page;
}

ReadResult<AdHistory> AdReadHandler::History(const GetHistory& q) const {
  const std::string id = q.ad_id.ToString();
  const std::string stream = events::StreamOf(q.ad_id);
  // Whose ad it is: its first event says.
  auto submitted = store_.ReadStream(stream, cqrs::StreamVersion(1), 1);
  if (!submitted.ok()) return Unavailable(submitted.status());
  if (submitted->empty()) return NotFound(id);
  auto first = events::ParseContent(submitted->front().payload);
  if (!first.ok() || !q.sender.MayAccess(first->retailer)) return NotFound(id);
  auto page = store_.ReadStream(stream, cqrs::StreamVersion(q.after.value() + 1), q.limit + 1);
  if (!page.ok()) return Unavailable(page.status());
  AdHistory h{id, std::move(*page), std::nullopt};
  if (h.events.size() > q.limit) {
    h.events.pop_back();
    h.next_cursor = h.events.back().version;
  }
  return h;
}

ReadResult<DailyReport> AdReadHandler::Report(const GetDailyReport& q) const {
  auto retailer = RetailerOf(q.sender, q.retailer, "reports on one retailer");
  if (auto* f = std::get_if<ReadFailure>(&retailer)) return *f;
  if (!cqrs::ParseUtcDay(q.day).ok())
    return ReadFailure{ReadFailureCode::kInvalid, "date must be a day as YYYY-MM-DD", "date"};
  auto rows = read_side_.queries().DecidedOn(std::get<std::string>(retailer), q.day);
  if (!rows.ok()) return Unavailable(rows.status());
  return DailyReport{std::move(std::get<std::string>(retailer)), q.day, std::move(*rows)};
}

}  // namespace adsd::ads
