#include "cqrs/store/postgres_sequencer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "cqrs/core/thread_name.h"
#include "cqrs/pg/advisory_lock.h"
#include "cqrs/pg/connection.h"
#include "cqrs/store/postgres_rows.h"
#include "cqrs/store/postgres_schema.h"
#include "cqrs/store/postgres_store.h"

namespace cqrs {

using pg::Param;

class Sequencer::Impl {
 public:
  Impl(SequencerOptions options, NumberedFn on_numbered, std::atomic<bool>& leading)
      : options_(std::move(options)),
        on_numbered_(std::move(on_numbered)),
        leading_(leading),
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
      if (!leading_.load()) {
        if (!TryLead().ok() || !leading_.load()) {
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

  void Follow() { leading_.store(false); }

  Status TryLead() {
    ASSIGN_OR_RETURN(bool got, pg::TryAdvisoryLock(*conn_, lock_key_));
    if (!got) return Status::Ok();
    auto led = [&]() -> Status {
      ASSIGN_OR_RETURN(pg::Rows e, conn_->Query("UPDATE log_head SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"));
      if (e.empty()) return Corruption("postgres: the log_head row is missing");
      epoch_ = e.Int(0, 0);
      RETURN_IF_ERROR(conn_->Exec("LISTEN \"" + options_.wake_channel + "\""));
      RETURN_IF_ERROR(conn_->Prepare("seq_lock", "SELECT position, hash FROM log_head WHERE id = 1 AND epoch = $1 "
                                                 "FOR UPDATE"));
      RETURN_IF_ERROR(conn_->Prepare("seq_unnumbered", "SELECT seq, " + std::string(pg_rows::kColumns) +
                                                           " FROM events WHERE position IS NULL ORDER BY seq LIMIT $1"));
      RETURN_IF_ERROR(conn_->Prepare(
          "seq_number", "UPDATE events SET position = u.position, hash = u.hash "
                        "FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS u(seq, position, hash) "
                        "WHERE events.seq = u.seq AND events.position IS NULL"));
      RETURN_IF_ERROR(conn_->Prepare("seq_head", "UPDATE log_head SET position = $1, hash = $2 WHERE id = 1"));
      return Status::Ok();
    }();
    if (!led.ok()) {
      // Statements prepared before the failure stay on the session: start it afresh.
      (void)conn_->Reconnect();
      return led;
    }
    leading_.store(true);
    return Status::Ok();
  }

  Result<Outcome> NumberBatch() {
    ASSIGN_OR_RETURN(std::vector<pg::Rows> read,
                     conn_->Pipeline({
                         {"BEGIN"},
                         pg::Statement::Prepared("seq_lock", {Param::Int(epoch_)}),
                         pg::Statement::Prepared("seq_unnumbered",
                                                 {Param::Int(static_cast<std::int64_t>(options_.max_batch))}),
                     }));
    if (read.size() != 3) return Unavailable("postgres: a pipeline answered " + std::to_string(read.size()) + " of 3");
    if (read[1].empty()) {
      RETURN_IF_ERROR(conn_->Exec("ROLLBACK"));
      return Outcome::kDeposed;
    }
    const pg::Rows& rows = read[2];
    if (rows.empty()) {
      RETURN_IF_ERROR(conn_->Exec("ROLLBACK"));
      return Outcome::kNothing;
    }
    std::uint64_t head = static_cast<std::uint64_t>(read[1].Int(0, 0));
    Sha256Digest chain{};
    if (std::string h = read[1].Bytes(0, 1); h.size() == chain.size()) std::memcpy(chain.data(), h.data(), h.size());
    std::vector<std::string> seqs, positions, hashes;
    std::vector<NumberedEvent> numbered;
    seqs.reserve(rows.size());
    positions.reserve(rows.size());
    hashes.reserve(rows.size());
    numbered.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) {
      RecordedEvent e = pg_rows::FromRow(rows, i, 1);
      e.position = Position(++head);
      chain = PostgresChainHash(chain, e);
      const std::int64_t seq = rows.Int(i, 0);
      seqs.push_back(std::to_string(seq));
      positions.push_back(std::to_string(head));
      hashes.push_back(pg_rows::ByteaHex(std::string_view(reinterpret_cast<const char*>(chain.data()), chain.size())));
      numbered.emplace_back(seq, head);
    }
    const std::string head_text = std::to_string(head);
    RETURN_IF_ERROR(
        conn_
            ->Pipeline({
                pg::Statement::Prepared("seq_number",
                                        {Param::Text(pg::ArrayLiteral(seqs)), Param::Text(pg::ArrayLiteral(positions)),
                                         Param::Text(pg::ArrayLiteral(hashes))}),
                pg::Statement::Prepared(
                    "seq_head",
                    {Param::Text(head_text),
                     Param::Bytes(std::string(reinterpret_cast<const char*>(chain.data()), chain.size()))}),
                {"COMMIT"},
                // After the commit, in a transaction of its own: NOTIFY holds a cluster-wide lock
                // until its transaction ends, which must not cover the batch's flush.
                pg::Statement("SELECT pg_notify($1, $2)", {Param::Text(options_.head_channel), Param::Text(head_text)}),
            })
            .status());
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
  std::atomic<bool>& leading_;  // the owning Sequencer's, which outlives this
  const std::int64_t lock_key_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  // The sequencer thread's alone:
  std::unique_ptr<pg::Connection> conn_;
  std::int64_t epoch_ = 0;  // the fencing token while leading
  std::thread thread_;
};

Sequencer::Sequencer(SequencerOptions options, NumberedFn on_numbered)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_numbered), leading_)) {}

Sequencer::~Sequencer() = default;

Status Sequencer::Start() { return impl_->Start(); }

void Sequencer::Wake() { impl_->Wake(); }

}  // namespace cqrs
