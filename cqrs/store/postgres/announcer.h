// NOTIFYs of the PostgreSQL store, sent off the append path and coalesced.
//
// Two announcements leave a store: the new head (its leading process numbered events: readers in
// other processes wake on it) and "something to number" (its appends committed unnumbered: the
// leader in another process wakes on it). Each is a NOTIFY, and a NOTIFY is a transaction of its
// own (it takes a transaction id and a cluster-wide lock until it commits, so it must not be part
// of an append's transaction). Sent by the writer after each batch it cost the writer a
// transaction per batch, measured at about a third of a batch's time on the server; here one
// thread sends them, and whatever was announced while a NOTIFY was in flight goes out in the next
// one (only the highest head matters; wake-ups are idempotent). What something waits on goes out
// within a millisecond of the previous NOTIFY; a head only readers follow, within five. A NOTIFY
// lost to a broken connection or a server crash is made up for by the listeners' polls.
//
// A head NOTIFY also carries where the events numbered since the last one are (HeadNote), so a
// process whose appends another process numbered answers them without asking the server; when
// they do not fit in a NOTIFY's 8000 bytes it carries the head alone, and such processes look the
// positions up (store.cc).
//
// Thread-safety: Head() and Wake() may be called from any thread; the NOTIFYs go out on the
// announcer's own thread, started by the constructor and joined by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/postgres/sequencer.h"

namespace cqrs {

// A head NOTIFY's payload: "HEAD" then " SEQ:POSITION:COUNT" per run of events numbered with
// consecutive seqs at consecutive positions.
struct HeadNote {
  std::uint64_t head = 0;
  std::vector<NumberedEvent> numbered;  // expanded from the runs

  static std::optional<HeadNote> Parse(std::string_view payload);
};
// The payload for `head` and the runs of `numbered` (sorted by seq here), or the head alone when
// the runs would not fit in `max_bytes`.
std::string FormatHeadNote(std::uint64_t head, std::vector<NumberedEvent> numbered, std::size_t max_bytes = 7900);

class PgAnnouncer {
 public:
  PgAnnouncer(std::string url, std::string head_channel, std::string wake_channel);
  ~PgAnnouncer() EXCLUDES(mu_);
  PgAnnouncer(const PgAnnouncer&) = delete;
  PgAnnouncer& operator=(const PgAnnouncer&) = delete;

  // The head is now `position` (announced unless a higher one already was), after numbering
  // `numbered` (announced with it). `awaited`: some of them were committed by earlier
  // transactions, whose appenders may be waiting in another process (announced sooner).
  void Head(std::uint64_t position, std::span<const NumberedEvent> numbered, bool awaited) EXCLUDES(mu_);
  // Unnumbered events committed: wake the sequencing leader.
  void Wake() EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);

  const std::string url_;
  const std::string head_channel_;
  const std::string wake_channel_;
  Mutex mu_;
  CondVar pending_cv_;
  std::uint64_t head_ GUARDED_BY(mu_) = 0;               // the highest head handed in
  std::uint64_t announced_ GUARDED_BY(mu_) = 0;          // the highest head sent
  std::vector<NumberedEvent> numbered_ GUARDED_BY(mu_);  // since the last NOTIFY
  bool overflow_ GUARDED_BY(mu_) = false;                // numbered_ grew past what a NOTIFY could carry
  bool awaited_ GUARDED_BY(mu_) = false;                 // numbered_ holds events committed before (see Head)
  bool wake_ GUARDED_BY(mu_) = false;
  // The thread waits with nothing to send (a new head must wake it); else it waits for a time it
  // will wake at anyway, and a new head is only recorded: no hand-off per append batch.
  bool idle_ GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point last_sent_ GUARDED_BY(mu_);  // the last NOTIFY
  bool stop_ GUARDED_BY(mu_) = false;
  std::unique_ptr<pg::Connection> conn_;  // the thread's
  std::thread thread_;
};

}  // namespace cqrs
