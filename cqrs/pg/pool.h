// Pool: connections to one database, borrowed for one operation at a time.
//
// Idle connections are kept (up to `max_idle`) and reused; a connection found broken after use is
// dropped, so the next borrower opens a fresh one. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cqrs/core/mutex.h"
#include "cqrs/pg/connection.h"

namespace cqrs::pg {

class Pool {
 public:
  Pool(std::string url, int max_idle) : url_(std::move(url)), max_idle_(max_idle) {}

  // Runs f(Connection&) on a pooled connection; f returns a Status or a Result.
  template <typename F, typename R = std::invoke_result_t<F&, Connection&>>
  R With(F&& f) const EXCLUDES(mu_) {
    std::unique_ptr<Connection> c;
    {
      MutexLock lock(mu_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!c) {
      auto opened = Connection::Open(url_);
      if (!opened.ok()) return opened.status();
      c = std::move(*opened);
    }
    auto result = f(*c);
    if (c->healthy()) {
      MutexLock lock(mu_);
      if (static_cast<int>(idle_.size()) < max_idle_) idle_.push_back(std::move(c));
    }
    return result;
  }

  const std::string& url() const { return url_; }

 private:
  const std::string url_;
  const int max_idle_;
  mutable Mutex mu_;
  mutable std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
};

}  // namespace cqrs::pg
