#include "cqrs/store/postgres/position_waits.h"

#include <algorithm>

namespace cqrs {

AppendResult PositionWaits::ResultOf(const Placement& p) {
  AppendResult r;
  const std::size_t n = p.positions.size();
  r.first_version = p.first_version;
  r.last_version = StreamVersion(p.first_version.value() + n - 1);
  r.first_position = Position(p.positions.front());
  r.last_position = Position(p.positions.back());
  r.idempotent_replay = p.idempotent_replay;
  r.original = p.original;
  return r;
}

void PositionWaits::Add(Placement placement, Done done) {
  std::vector<Reply> answers;
  std::uint64_t head = 0;
  {
    MutexLock lock(mu_);
    auto w = std::make_shared<Waiting>();
    w->since = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < placement.positions.size(); ++k) {
      std::uint64_t& pos = placement.positions[k];
      if (pos == 0) {
        const std::int64_t seq = placement.seqs[k];
        if (auto it = recent_.find(seq); it != recent_.end()) {
          pos = it->second;
        } else if (auto it2 = previous_.find(seq); it2 != previous_.end()) {
          pos = it2->second;
        }
      }
      if (pos == 0) {
        ++w->missing;
        by_seq_[placement.seqs[k]] = {w, k};
      }
      head = std::max(head, pos);
    }
    if (w->missing == 0) {
      answers.emplace_back(std::move(done), ResultOf(placement));
    } else {
      w->placement = std::move(placement);
      w->done = std::move(done);
      pending_cv_.SignalAll();
    }
  }
  Answer(answers, head);
}

void PositionWaits::Place(std::int64_t seq, std::uint64_t position, std::vector<Reply>& answers, std::uint64_t& head) {
  auto it = by_seq_.find(seq);
  if (it == by_seq_.end()) return;
  auto [w, k] = std::move(it->second);
  by_seq_.erase(it);
  w->placement.positions[k] = position;
  if (--w->missing == 0) {
    head = std::max(head, *std::max_element(w->placement.positions.begin(), w->placement.positions.end()));
    answers.emplace_back(std::move(w->done), ResultOf(w->placement));
  }
}

void PositionWaits::Numbered(std::span<const NumberedEvent> events) {
  std::vector<Reply> answers;
  std::uint64_t head = 0;
  {
    MutexLock lock(mu_);
    for (const auto& [seq, position] : events) Place(seq, position, answers, head);
  }
  Answer(answers, head);
}

void PositionWaits::NumberedBySequencer(std::span<const NumberedEvent> events) {
  {
    MutexLock lock(mu_);
    previous_ = std::move(recent_);
    recent_.clear();
    recent_.reserve(events.size());
    for (const auto& [seq, position] : events) recent_.emplace(seq, position);
  }
  Numbered(events);
}

void PositionWaits::Answer(std::vector<Reply>& answers, std::uint64_t head) {
  if (answers.empty()) return;
  before_answer_(head);
  for (auto& [done, result] : answers) done(std::move(result));
}

std::vector<std::int64_t> PositionWaits::PendingSeqs(std::chrono::steady_clock::time_point* oldest) const {
  MutexLock lock(mu_);
  std::vector<std::int64_t> out;
  out.reserve(by_seq_.size());
  *oldest = std::chrono::steady_clock::time_point::max();
  for (const auto& [seq, w] : by_seq_) {
    out.push_back(seq);
    *oldest = std::min(*oldest, w.first->since);
  }
  return out;
}

void PositionWaits::WaitUntilPending(std::chrono::steady_clock::time_point deadline) const {
  MutexLock lock(mu_);
  while (by_seq_.empty()) {
    if (!pending_cv_.WaitUntil(mu_, deadline)) break;
  }
}

bool PositionWaits::empty() const {
  MutexLock lock(mu_);
  return by_seq_.empty();
}

void PositionWaits::FailAll(const Status& status) {
  std::vector<Done> failed;
  {
    MutexLock lock(mu_);
    for (auto& [seq, w] : by_seq_) {
      if (w.first->done) failed.push_back(std::move(w.first->done));  // once per append
    }
    by_seq_.clear();
  }
  for (auto& done : failed) done(status);
}

}  // namespace cqrs
