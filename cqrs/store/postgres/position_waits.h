// Appends that committed and wait for the sequencer to number their events.
//
// An append's AppendResult carries positions, so a committed append is answered only once every
// one of its events is numbered. Positions arrive by two ways: from this process's sequencer
// (Numbered(), for every event of each batch it commits), and from a lookup by `seq` that the
// store runs when another process leads (PendingSeqs() → Numbered()). The sequencer may number an
// append's rows before the append is registered here (the commit's answer and the numbering race),
// so the last batches' numbers are kept and consulted by Add().
//
// Thread-safety: all methods may be called concurrently; callbacks run outside the lock, on the
// calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/store/postgres/appender.h"
#include "cqrs/store/postgres/sequencer.h"

namespace cqrs {

class PositionWaits {
 public:
  using Done = std::function<void(Result<AppendResult>)>;
  // Runs before any `done` of appends whose positions reach `head` (the store moves its head).
  using BeforeAnswer = std::function<void(std::uint64_t head)>;
  explicit PositionWaits(BeforeAnswer before_answer) : before_answer_(std::move(before_answer)) {}

  // Answers `done` now if every position is known, else when Numbered() has given them all.
  void Add(Placement placement, Done done) EXCLUDES(mu_);
  // Positions of numbered events; answers the appends they complete.
  void Numbered(std::span<const NumberedEvent> events) EXCLUDES(mu_);
  // Keeps `events` as the latest batch of this process's sequencer (see Add), then Numbered().
  void NumberedBySequencer(std::span<const NumberedEvent> events) EXCLUDES(mu_);

  // The seqs still waiting, and when the oldest waiting append was added.
  std::vector<std::int64_t> PendingSeqs(std::chrono::steady_clock::time_point* oldest) const EXCLUDES(mu_);
  bool empty() const EXCLUDES(mu_);
  // Waits until an append waits for positions, or the deadline passes (or Wake()).
  void WaitUntilPending(std::chrono::steady_clock::time_point deadline) const EXCLUDES(mu_);
  void Wake() const { pending_cv_.SignalAll(); }
  // Answers every waiting append with `status` (the store closes).
  void FailAll(const Status& status) EXCLUDES(mu_);

 private:
  struct Waiting {
    Placement placement;
    Done done;
    std::size_t missing = 0;
    std::chrono::steady_clock::time_point since;
  };
  using Reply = std::pair<Done, Result<AppendResult>>;
  static AppendResult ResultOf(const Placement& p);
  // Records one position; appends completed by it go to `answers`.
  void Place(std::int64_t seq, std::uint64_t position, std::vector<Reply>& answers, std::uint64_t& head) REQUIRES(mu_);
  void Answer(std::vector<Reply>& answers, std::uint64_t head) EXCLUDES(mu_);

  const BeforeAnswer before_answer_;
  mutable Mutex mu_;
  mutable CondVar pending_cv_;  // by_seq_ became non-empty
  // seq -> the waiting append and the index of the event in it.
  std::unordered_map<std::int64_t, std::pair<std::shared_ptr<Waiting>, std::size_t>> by_seq_ GUARDED_BY(mu_);
  // The sequencer's last two batches, seq -> position.
  std::unordered_map<std::int64_t, std::uint64_t> recent_ GUARDED_BY(mu_), previous_ GUARDED_BY(mu_);
};

}  // namespace cqrs
