// StatusStreamHub: the live stream of status changes (GET /v1/ads/stream, Server-Sent Events).
//
// One subscription to the store serves every open stream: each status change is decoded once
// (StatusChanges) and written to the streams of its retailer (and admins' streams of every
// retailer). A stream that resumes (Last-Event-ID: a log position) first replays the retailer's
// changes after that position from the log, on the blocking pool, while the live changes that
// arrive meanwhile wait in a bounded queue; then it is live. Each frame's `id:` is the change's
// log position. Heartbeats (a comment line) go to every stream from one timer thread. A stream
// holds no thread while idle: writes are queued on the connection (http/stream.h), and a client
// that does not read is cut off there.
//
// Streams are bounded per retailer (`per_retailer`); an admin's streams of every retailer count
// together as one more.
//
// Lifecycle: Start() subscribes at the log's head; Stop() closes every stream and ends the
// subscription. Thread-safety: every method is safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ads/notify/status_change.h"
#include "app/adsd/blocking_pool.h"
#include "cqrs/store/event_store.h"
#include "http/message.h"

namespace adsd::app {

struct StatusStreamOptions {
  std::chrono::milliseconds heartbeat{15'000};
  int per_retailer = 5;
  std::size_t catch_up_buffer = 10'000;  // live changes held while a stream replays
};

class StatusStreamHub {
 public:
  // `store`, `changes` and `pool` must outlive the hub.
  static cqrs::Result<std::shared_ptr<StatusStreamHub>> Start(cqrs::EventStore& store,
                                                              ads::notify::StatusChanges& changes, BlockingPool& pool,
                                                              StatusStreamOptions options);
  ~StatusStreamHub();
  void Stop();

  // The answer to a stream request: a streamed 200 (text/event-stream), or 429 when `retailer`
  // (empty: an admin's stream of all) has `per_retailer` streams open already.
  http::Response Open(const std::string& retailer, std::optional<cqrs::Position> last_event_id);

  int open_streams() const;

 private:
  struct State;
  explicit StatusStreamHub(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;  // shared with the streams' callbacks, which may outlive the hub
};

// One SSE frame of a change: "id: <position>\nevent: <type>\ndata: <json>\n\n".
std::string SseFrame(const ads::notify::StatusChange& c);

}  // namespace adsd::app
