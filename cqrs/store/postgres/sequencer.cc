#include "cqrs/store/postgres/sequencer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "cqrs/core/thread_name.h"
#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/postgres/rows.h"
#include "cqrs/store/postgres/schema.h"

namespace cqrs {

using pg::Param;

class Sequencer::Impl {
 public:
  Impl(SequencerOptions options, NumberedFn on_numbered, std::atomic<std::int64_t>& token)
      : options_(std::move(options)),
        on_numbered_(std::move(on_numbered)),
        token_(token),
        lock_key_(pg::AdvisoryLockKey(kSequencerLockName)) {}

  ~Impl() {
    stop_.store(true);
    Wake();
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  Status Start() {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return ErrnoError("sequencer: eventfd", errno);
    thread_ = std::thread([this] {
      NameThisThread("pg-sequencer");
      Run();
    });
    return Status::Ok();
  }

  void Wake() {
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
  }

 private:
  enum class Outcome { kNumbered, kNothing, kDeposed };

  void Run() {
    while (!stop_.load()) {
      if (!conn_ || !conn_->healthy()) {
        Follow();
        if (!Connect().ok()) {
          Pause(options_.takeover_poll);
          continue;
        }
      }
      if (token_.load() == 0) {
        if (!TryLead().ok() || token_.load() == 0) {
          Pause(options_.takeover_poll);
          continue;
        }
      }
      auto outcome = NumberBatch();
      if (!outcome.ok()) {
        (void)conn_->Exec("ROLLBACK");
        // A broken session lost the lock with it: follow, and try again from the top.
        if (!conn_->healthy()) Follow();
        Pause(options_.takeover_poll);
        continue;
      }
      if (*outcome == Outcome::kDeposed) {
        // Someone moved the epoch: step down, give the lock back, and compete again.
        (void)conn_->Query("SELECT pg_advisory_unlock($1)", {Param::Int(lock_key_)});
        (void)conn_->Exec("UNLISTEN *");
        Follow();
        continue;
      }
      if (*outcome == Outcome::kNothing) WaitForWork();
    }
    Follow();
  }

  Status Connect() {
    if (conn_) return conn_->Reconnect();
    ASSIGN_OR_RETURN(conn_, pg::Connection::Open(options_.url));
    return Status::Ok();
  }

  void Follow() { token_.store(0); }

  Status TryLead() {
    ASSIGN_OR_RETURN(bool got, pg::TryAdvisoryLock(*conn_, lock_key_));
    if (!got) return Status::Ok();
    auto led = [&]() -> Status {
      ASSIGN_OR_RETURN(pg::Rows e, conn_->Query("UPDATE log_head SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"));
      if (e.empty()) return Corruption("postgres: the log_head row is missing");
      epoch_ = e.Int(0, 0);
      RETURN_IF_ERROR(conn_->Exec("LISTEN \"" + options_.wake_channel + "\""));
      return Status::Ok();
    }();
    if (!led.ok()) {
      // Give the lock back with the session: half a takeover must not hold it.
      (void)conn_->Reconnect();
      return led;
    }
    token_.store(epoch_);
    return Status::Ok();
  }

  // One batch: cqrs_sequence_batch (schema.cc) in a transaction, one round trip. The new
  // head is announced by the store (on_numbered_, announcer.h), not here: a NOTIFY is a
  // transaction of its own, and this thread's next batch need not wait for it.
  Result<Outcome> NumberBatch() {
    const std::vector<pg::Statement> batch = {
        {"BEGIN"},
        pg::Statement("SELECT deposed, head, seqs, positions FROM cqrs_sequence_batch($1, $2)",
                      {Param::Int(epoch_), Param::Int(static_cast<std::int64_t>(options_.max_batch))}),
        {"COMMIT"},
    };
    ASSIGN_OR_RETURN(std::vector<pg::Rows> r, conn_->Pipeline(batch));
    if (r.size() != batch.size() || r[1].empty()) return Unavailable("postgres: the sequencer's batch did not answer");
    if (r[1].Text(0, 0) == "t") return Outcome::kDeposed;
    const std::uint64_t head = static_cast<std::uint64_t>(r[1].Int(0, 1));
    const std::vector<std::int64_t> seqs = pg_rows::ParseBigintArray(r[1].Text(0, 2));
    const std::vector<std::int64_t> positions = pg_rows::ParseBigintArray(r[1].Text(0, 3));
    if (seqs.size() != positions.size()) return Internal("postgres: the sequencer's batch answered ragged arrays");
    if (seqs.empty()) return Outcome::kNothing;
    std::vector<NumberedEvent> numbered;
    numbered.reserve(seqs.size());
    for (std::size_t i = 0; i < seqs.size(); ++i)
      numbered.emplace_back(seqs[i], static_cast<std::uint64_t>(positions[i]));
    on_numbered_(numbered, head);
    return Outcome::kNumbered;
  }

  // Until a wake-up (this process's appends, another's NOTIFY) or idle_poll.
  void WaitForWork() {
    auto notes = conn_->TakeNotifications();
    if (!notes.ok() || !notes->empty()) return;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn_->socket(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(options_.idle_poll.count())) <= 0) return;
    if (fds[0].revents & POLLIN) DrainWakes();
    if (fds[1].revents) (void)conn_->TakeNotifications();
  }

  // Sleeps `d` unless woken (stop, or a local wake-up).
  void Pause(std::chrono::milliseconds d) {
    pollfd fd{wake_fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(d.count())) > 0) DrainWakes();
  }

  void DrainWakes() {
    std::uint64_t n = 0;
    (void)!::read(wake_fd_, &n, sizeof n);
  }

  const SequencerOptions options_;
  const NumberedFn on_numbered_;
  std::atomic<std::int64_t>& token_;  // the owning Sequencer's, which outlives this
  const std::int64_t lock_key_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  // The sequencer thread's alone:
  std::unique_ptr<pg::Connection> conn_;
  std::int64_t epoch_ = 0;  // the fencing token while leading
  std::thread thread_;
};

Sequencer::Sequencer(SequencerOptions options, NumberedFn on_numbered)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_numbered), token_)) {}

Sequencer::~Sequencer() = default;

Status Sequencer::Start() { return impl_->Start(); }

void Sequencer::Wake() { impl_->Wake(); }

}  // namespace cqrs
