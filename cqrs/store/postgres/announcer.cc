#include "cqrs/store/postgres/announcer.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <vector>

#include "cqrs/core/thread_name.h"

namespace cqrs {

namespace {

// The shortest time between two NOTIFYs. Each is a transaction on the server, and every listening
// process receives it: one per append batch cost a single appender a fifth of its rate, one a
// millisecond still a quarter of one process's 8 appenders' rate (measured, docs/benchmarks.md).
// A NOTIFY something waits on (appends of another process that this one numbered, or a wake-up
// of the sequencing leader) goes out at most kAwaitedInterval after the previous one; a head that
// only moves readers in other processes forward, at most kReaderInterval after (what they wait
// longer, at most).
constexpr std::chrono::microseconds kAwaitedInterval{1000};
constexpr std::chrono::microseconds kReaderInterval{5000};

// More numbered events than this since the last NOTIFY cannot fit anyway: stop collecting.
constexpr std::size_t kMaxCollected = 65536;

bool ParseNumber(std::string_view& text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

}  // namespace

std::optional<HeadNote> HeadNote::Parse(std::string_view payload) {
  HeadNote note;
  if (!ParseNumber(payload, note.head)) return std::nullopt;
  while (!payload.empty()) {
    std::uint64_t seq = 0, position = 0, count = 0;
    if (payload.front() != ' ') return std::nullopt;
    payload.remove_prefix(1);
    if (!ParseNumber(payload, seq) || payload.empty() || payload.front() != ':') return std::nullopt;
    payload.remove_prefix(1);
    if (!ParseNumber(payload, position) || payload.empty() || payload.front() != ':') return std::nullopt;
    payload.remove_prefix(1);
    if (!ParseNumber(payload, count) || count > kMaxCollected) return std::nullopt;
    for (std::uint64_t i = 0; i < count; ++i) {
      note.numbered.emplace_back(static_cast<std::int64_t>(seq + i), position + i);
    }
  }
  return note;
}

std::string FormatHeadNote(std::uint64_t head, std::vector<NumberedEvent> numbered, std::size_t max_bytes) {
  std::string out = std::to_string(head);
  std::sort(numbered.begin(), numbered.end());
  const std::size_t head_only = out.size();
  for (std::size_t i = 0; i < numbered.size();) {
    std::size_t n = 1;
    while (i + n < numbered.size() && numbered[i + n].first == numbered[i].first + static_cast<std::int64_t>(n) &&
           numbered[i + n].second == numbered[i].second + n) {
      ++n;
    }
    out += ' ' + std::to_string(numbered[i].first) + ':' + std::to_string(numbered[i].second) + ':' + std::to_string(n);
    if (out.size() > max_bytes) {
      out.resize(head_only);
      return out;
    }
    i += n;
  }
  return out;
}

PgAnnouncer::PgAnnouncer(std::string url, std::string head_channel, std::string wake_channel)
    : url_(std::move(url)), head_channel_(std::move(head_channel)), wake_channel_(std::move(wake_channel)) {
  thread_ = std::thread([this] {
    NameThisThread("pg-announce");
    Run();
  });
}

PgAnnouncer::~PgAnnouncer() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  pending_cv_.SignalAll();
  thread_.join();
}

void PgAnnouncer::Head(std::uint64_t position, std::span<const NumberedEvent> numbered, bool awaited) {
  MutexLock lock(mu_);
  if (awaited && !awaited_) {
    awaited_ = true;
    pending_cv_.Signal();  // may be due sooner now
  }
  if (!overflow_) {
    if (numbered_.size() + numbered.size() > kMaxCollected) {
      overflow_ = true;
      numbered_.clear();
    } else {
      numbered_.insert(numbered_.end(), numbered.begin(), numbered.end());
    }
  }
  if (position <= head_) return;
  head_ = position;
  if (idle_) pending_cv_.Signal();
}

void PgAnnouncer::Wake() {
  MutexLock lock(mu_);
  if (wake_) return;
  wake_ = true;
  pending_cv_.Signal();
}

void PgAnnouncer::Run() {
  using pg::Param;
  while (true) {
    std::uint64_t head = 0;
    bool wake = false;
    std::vector<NumberedEvent> numbered;
    {
      MutexLock lock(mu_);
      // Something to send, and its time come (see kAwaitedInterval).
      while (true) {
        if (stop_) return;
        if (!wake_ && head_ <= announced_) {
          idle_ = true;
          pending_cv_.Wait(mu_);
          idle_ = false;
          continue;
        }
        const auto due = last_sent_ + (wake_ || awaited_ ? kAwaitedInterval : kReaderInterval);
        if (std::chrono::steady_clock::now() >= due) break;
        pending_cv_.WaitUntil(mu_, due);
      }
      awaited_ = false;
      if (head_ > announced_) {
        head = head_;
        if (!overflow_) numbered.swap(numbered_);
        numbered_.clear();
        overflow_ = false;
      }
      wake = wake_;
      wake_ = false;
    }
    Status sent = Status::Ok();
    if (!conn_ || !conn_->healthy()) {
      if (!conn_) {
        auto c = pg::Connection::Open(url_);
        if (c.ok()) {
          conn_ = std::move(*c);
        } else {
          sent = c.status();
        }
      } else {
        sent = conn_->Reconnect();
      }
      // This session only sends NOTIFYs: none needs its commit flushed (a NOTIFY takes a
      // transaction id, and a synchronous commit would cost a flush). Each NOTIFY is then one
      // statement, its own transaction, instead of four.
      if (sent.ok()) sent = conn_->Exec("SET synchronous_commit = off");
    }
    if (sent.ok()) {
      std::vector<pg::Statement> notify;
      if (head > 0) {
        notify.emplace_back(
            "SELECT pg_notify($1, $2)",
            std::vector<Param>{Param::Text(head_channel_), Param::Text(FormatHeadNote(head, std::move(numbered)))});
      }
      if (wake) notify.emplace_back("SELECT pg_notify($1, '')", std::vector<Param>{Param::Text(wake_channel_)});
      sent = conn_->Pipeline(notify).status();
    }
    MutexLock lock(mu_);
    if (sent.ok()) {
      announced_ = std::max(announced_, head);
      last_sent_ = std::chrono::steady_clock::now();  // what comes meanwhile goes in the next one
    } else {
      // Dropped (the listeners poll); a pause before the next connection attempt.
      pending_cv_.WaitUntil(mu_, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      announced_ = std::max(announced_, head);
    }
  }
}

}  // namespace cqrs
