#include "app/adsd/status_stream.h"

#include <deque>
#include <map>
#include <thread>

#include "cqrs/core/mutex.h"
#include "cqrs/core/thread_name.h"
#include "http/problem.h"
#include "http/stream.h"

namespace adsd::app {

namespace {

using ads::notify::StatusChange;

// One open stream.
struct Subscriber {
  std::string retailer;  // empty: every retailer's (an admin)
  std::shared_ptr<http::StreamWriter> writer;
  cqrs::Position sent;           // the last position written (or resumed after)
  bool catching_up = false;      // replaying from the log: live changes wait in `held`
  std::deque<std::string> held;  // frames of live changes, with their positions
  std::deque<cqrs::Position> held_at;
};

}  // namespace

std::string SseFrame(const StatusChange& c) {
  return "id: " + std::to_string(c.position.value()) + "\nevent: " + c.type + "\ndata: " + c.ToJson() + "\n\n";
}

struct StatusStreamHub::State : std::enable_shared_from_this<State> {
  State(cqrs::EventStore& s, ads::notify::StatusChanges& c, BlockingPool& p, StatusStreamOptions o)
      : store(s), changes(c), pool(p), options(o) {}

  cqrs::EventStore& store;
  ads::notify::StatusChanges& changes;
  BlockingPool& pool;
  const StatusStreamOptions options;

  cqrs::Mutex mu;
  cqrs::CondVar stop_cv;
  bool stopped GUARDED_BY(mu) = false;
  cqrs::Position live GUARDED_BY(mu);              // the last position the subscription passed
  std::map<std::string, int> open GUARDED_BY(mu);  // streams (and reserved slots) per retailer
  std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers GUARDED_BY(mu);
  std::uint64_t next_id GUARDED_BY(mu) = 0;
  std::unique_ptr<cqrs::Subscription> subscription;  // set by Start, reset by Stop
  std::thread heartbeat;

  // A retailer's streams count under its name; an admin's streams of every retailer under "" (no
  // retailer is named "").
  static const std::string& Key(const std::string& retailer) { return retailer; }

  void Release(const std::string& retailer) {
    cqrs::MutexLock lock(mu);
    if (--open[Key(retailer)] <= 0) open.erase(Key(retailer));
  }

  // Writes a frame to a subscriber (under mu); a refused write ends it (its OnClose removes it).
  static void Send(Subscriber& s, const std::string& frame, cqrs::Position at) {
    if (at <= s.sent) return;
    s.sent = at;
    s.writer->Write(frame);
  }

  cqrs::Status Deliver(std::span<const cqrs::RecordedEvent> batch) {
    for (const auto& e : batch) {
      bool anyone = false;
      {
        cqrs::MutexLock lock(mu);
        anyone = !subscribers.empty();
      }
      std::optional<StatusChange> change;
      bool undecodable = false;
      if (anyone) {
        auto decoded = changes.Decode(e);
        undecodable = !decoded.ok();
        if (decoded.ok()) change = std::move(*decoded);
      }
      cqrs::MutexLock lock(mu);
      live = e.position;
      if (undecodable) {
        // Whose change it is cannot be told now (its owner could not be read): no stream may
        // miss it silently, so every stream ends here and its client resumes with Last-Event-ID
        // (the replay reads the log again). An error would end the subscription for good.
        for (auto& [id, s] : subscribers) s->writer->Close();
        continue;
      }
      if (!change) continue;
      const std::string frame = SseFrame(*change);
      for (auto& [id, s] : subscribers) {
        if (!s->retailer.empty() && s->retailer != change->retailer) continue;
        if (s->catching_up) {
          if (s->held.size() >= options.catch_up_buffer) {
            s->writer->Close();  // too far behind to catch up here: the client resumes by itself
            continue;
          }
          s->held.push_back(frame);
          s->held_at.push_back(change->position);
          continue;
        }
        Send(*s, frame, change->position);
      }
    }
    return cqrs::Status::Ok();
  }

  void Attach(const std::string& retailer, std::optional<cqrs::Position> after,
              const std::shared_ptr<http::StreamWriter>& writer) {
    auto s = std::make_shared<Subscriber>();
    s->retailer = retailer;
    s->writer = writer;
    std::uint64_t id = 0;
    cqrs::Position upto;
    {
      cqrs::MutexLock lock(mu);
      if (stopped) {
        writer->Close();
        return;
      }
      id = ++next_id;
      upto = live;
      // An id past the log's head is no position of this log (one from before the data was reset,
      // or made up): skipping every change up to it would drop live changes without a word, so it
      // is read as no id at all and the stream starts now. An id between `live` and the head is
      // real (the subscription has not passed it yet): the changes up to it are not sent again.
      if (after && *after > store.Head()) after.reset();
      s->sent = after ? *after : live;
      s->catching_up = after && *after < live;
      subscribers[id] = s;
    }
    // The client's hint for reconnecting, and a first line so that it sees the stream is open.
    writer->Write("retry: 2000\n: stream open\n\n");
    std::weak_ptr<State> weak = shared_from_this();
    writer->OnClose([weak, id, retailer] {
      if (auto st = weak.lock()) {
        {
          cqrs::MutexLock lock(st->mu);
          st->subscribers.erase(id);
        }
        st->Release(retailer);
      }
    });
    if (!s->catching_up) return;
    const bool queued = pool.TrySubmit([weak, s, upto] {
      if (auto st = weak.lock()) st->CatchUp(*s, upto);
    });
    if (!queued) writer->Close();  // overloaded: the client resumes with Last-Event-ID
  }

  // Replays the subscriber's changes in (s.sent, upto] from the log, then the live ones held.
  void CatchUp(Subscriber& s, cqrs::Position upto) {
    cqrs::Position next = s.sent.next();
    while (next <= upto && !s.writer->closed()) {
      auto events = store.ReadAll(next, 256);
      if (!events.ok() || events->empty()) {
        s.writer->Close();
        return;
      }
      for (const auto& e : *events) {
        if (e.position > upto) break;
        auto c = changes.Decode(e);
        if (!c.ok()) {
          s.writer->Close();
          return;
        }
        if (*c && (s.retailer.empty() || s.retailer == (*c)->retailer)) {
          cqrs::MutexLock lock(mu);
          Send(s, SseFrame(**c), e.position);
        }
      }
      next = events->back().position.next();
    }
    cqrs::MutexLock lock(mu);
    while (!s.held.empty()) {
      Send(s, s.held.front(), s.held_at.front());
      s.held.pop_front();
      s.held_at.pop_front();
    }
    s.catching_up = false;
  }

  void Heartbeats() {
    cqrs::MutexLock lock(mu);
    while (!stopped) {
      stop_cv.WaitFor(mu, options.heartbeat);
      if (stopped) return;
      for (auto& [id, s] : subscribers) s->writer->Write(": heartbeat\n\n");
    }
  }
};

cqrs::Result<std::shared_ptr<StatusStreamHub>> StatusStreamHub::Start(cqrs::EventStore& store,
                                                                      ads::notify::StatusChanges& changes,
                                                                      BlockingPool& pool, StatusStreamOptions options) {
  auto state = std::make_shared<State>(store, changes, pool, options);
  const cqrs::Position head = store.Head();
  {
    cqrs::MutexLock lock(state->mu);
    state->live = head;
  }
  ASSIGN_OR_RETURN(state->subscription,
                   store.Subscribe(head.next(), 256, [raw = state.get()](std::span<const cqrs::RecordedEvent> batch) {
                     return raw->Deliver(batch);
                   }));
  state->heartbeat = std::thread([raw = state.get()] {
    cqrs::NameThisThread("sse-heartbeat");
    raw->Heartbeats();
  });
  return std::shared_ptr<StatusStreamHub>(new StatusStreamHub(std::move(state)));
}

StatusStreamHub::~StatusStreamHub() { Stop(); }

void StatusStreamHub::Stop() {
  std::vector<std::shared_ptr<Subscriber>> open;
  {
    cqrs::MutexLock lock(state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
    for (auto& [id, s] : state_->subscribers) open.push_back(s);
  }
  state_->stop_cv.SignalAll();
  if (state_->heartbeat.joinable()) state_->heartbeat.join();
  state_->subscription.reset();
  for (auto& s : open) s->writer->Close();
}

int StatusStreamHub::open_streams() const {
  cqrs::MutexLock lock(state_->mu);
  return static_cast<int>(state_->subscribers.size());
}

http::Response StatusStreamHub::Open(const std::string& retailer, std::optional<cqrs::Position> last_event_id) {
  {
    cqrs::MutexLock lock(state_->mu);
    if (state_->stopped) return http::Overloaded("the server is stopping", 1);
    int& n = state_->open[State::Key(retailer)];
    if (n >= state_->options.per_retailer) {
      if (n == 0) state_->open.erase(State::Key(retailer));
      http::Response r = http::Problem(429, "too-many-streams", "Too many open streams",
                                       "at most " + std::to_string(state_->options.per_retailer) +
                                           " streams may be open at once for one retailer; close one first");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    ++n;
  }
  // The slot is held from here: by the stream once it starts, or given back if it never does
  // (the client went away before the head was written).
  struct Slot {
    std::weak_ptr<State> state;
    std::string retailer;
    bool handed_over = false;
    ~Slot() {
      if (auto st = state.lock(); st && !handed_over) st->Release(retailer);
    }
  };
  auto slot = std::make_shared<Slot>();
  slot->state = state_;
  slot->retailer = retailer;
  http::Response r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("X-Accel-Buffering", "no");  // proxies must pass each event at once
  r.stream = [slot, last_event_id](std::shared_ptr<http::StreamWriter> writer) {
    auto st = slot->state.lock();
    if (!st) return writer->Close();
    slot->handed_over = true;
    st->Attach(slot->retailer, last_event_id, writer);
  };
  return r;
}

}  // namespace adsd::app
