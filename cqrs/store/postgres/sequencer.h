// The PostgreSQL store's sequencer: assigns the global order after commit.
//
// Appends insert their events without a position (appender.h) and commit on their own,
// so concurrent transactions share the server's WAL flushes. One sequencer among all the store
// instances on a database leads: it takes every committed, unnumbered event in `seq` order, gives
// them the positions after the head and their links in the hash chain, moves the head, and
// commits; the store then announces the new head (announcer.h). Positions are gap-free
// because only the leader numbers, in one transaction per batch that locks the `log_head` row;
// readers see a prefix of the order because each batch becomes visible at once.
//
// A stream's versions are numbered in version order: version v+1 is inserted only after the
// transaction holding version v committed (the unique (stream, version) index makes a racing
// insert wait and fail), so it takes a larger `seq`, and a snapshot that sees v+1 sees v.
//
// The leading process's own append transactions number themselves the same way, under the same
// fence (token(), appender.h); the sequencer numbers what the others commit.
//
// Leadership: a session advisory lock (kSequencerLockName), tried by every writable store; the
// server releases it when the leader's session ends (a crash closes the socket at once), and the
// next store to try takes over within `takeover_poll`. Fencing: a new leader increments
// `log_head.epoch` and every batch locks the head row only where the epoch is still its own, so a
// deposed leader (its session replaced, its lock lost) cannot number anything, even with a batch
// already read.
//
// Thread-safety: Wake() and leading() may be called from any thread; the sequencer runs on its
// own thread, started by Start() and joined by the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "cqrs/core/status.h"

namespace cqrs {

struct SequencerOptions {
  std::string url;
  std::string wake_channel;                      // appenders of other processes say "something to number"
  std::size_t max_batch = 4096;                  // events numbered in one transaction, at most
  std::chrono::milliseconds takeover_poll{100};  // how often a follower tries the lock
  std::chrono::milliseconds idle_poll{100};      // a leader looks for work at least this often
};

// (seq, position) of one event numbered by a batch.
using NumberedEvent = std::pair<std::int64_t, std::uint64_t>;

class Sequencer {
 public:
  // `on_numbered(events, head)` runs on the sequencer's thread after each committed batch: the
  // events it numbered and the new head. It must not block.
  using NumberedFn = std::function<void(std::span<const NumberedEvent>, std::uint64_t head)>;

  Sequencer(SequencerOptions options, NumberedFn on_numbered);
  ~Sequencer();
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  Status Start();
  // Something committed in this process: look for work now (if leading).
  void Wake();
  // Whether this instance leads the sequencing at the moment.
  bool leading() const { return token_.load() != 0; }
  // The fencing token while leading (0 when not): this process's append transactions may number
  // events themselves under it (cqrs_sequence_batch), fenced like the sequencer's own batches.
  std::int64_t token() const { return token_.load(); }

 private:
  class Impl;
  std::atomic<std::int64_t> token_{0};  // before impl_: its thread uses it until impl_ is gone
  std::unique_ptr<Impl> impl_;
};

}  // namespace cqrs
