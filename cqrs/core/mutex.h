// Mutex, MutexLock, MutexUnlock, CondVar and SharedMutex: std::mutex, std::condition_variable
// and std::shared_mutex with clang's thread-safety attributes (thread_annotations.h), so that
// GUARDED_BY / REQUIRES on a class's members are checked by -Wthread-safety
// (scripts/thread-safety.sh). libstdc++'s own types carry no attributes. Everything is inline over
// the std types: no cost beyond theirs.
//
//   mutable Mutex mu_;
//   CondVar changed_;                        // signalled when count_ changes
//   int count_ GUARDED_BY(mu_) = 0;
//
//   void Wait(int n) EXCLUDES(mu_) {
//     MutexLock lock(mu_);
//     while (count_ < n) changed_.Wait(mu_);
//   }
//
// Waits are written as explicit loops over the guarded condition (not std's predicate overloads):
// the analysis checks a loop's condition, while a predicate lambda is a separate function it
// sees without the lock.
//
// Thread-safety: these are the synchronization primitives; Mutex and CondVar are shared between
// threads, a MutexLock belongs to the thread that made it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "cqrs/core/thread_annotations.h"

namespace cqrs {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // Tells the analysis the caller holds this mutex where it cannot see so (a function called
  // back by code that took the lock). Checks nothing at run time: std::mutex has no owner to ask.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex from construction to destruction, like std::unique_lock: Unlock() lets it go for
// a stretch that must not hold it (running a callback, I/O) and Lock() takes it back; the
// destructor releases it only if held.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    held_ = false;
    mu_.Unlock();
  }
  void Lock() ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// The reverse of MutexLock: releases a held Mutex for its lifetime and takes it back when it
// goes, also on an exception. For a helper that REQUIRES the mutex and lets go of it while it
// works (its caller's MutexLock is not in reach).
class SCOPED_CAPABILITY MutexUnlock {
 public:
  explicit MutexUnlock(Mutex& mu) RELEASE(mu) : mu_(mu) { mu_.Unlock(); }
  ~MutexUnlock() RELEASE() { mu_.Lock(); }
  MutexUnlock(const MutexUnlock&) = delete;
  MutexUnlock& operator=(const MutexUnlock&) = delete;

 private:
  Mutex& mu_;
};

// std::shared_mutex with the attributes: many readers (ReaderMutexLock) or one writer
// (WriterMutexLock). A member GUARDED_BY it may be read under either and written under the
// writer's lock only.
class CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void LockShared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex exclusively from construction to destruction.
class SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterMutexLock() RELEASE() { mu_.Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds a SharedMutex shared (with other readers) from construction to destruction.
class SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.LockShared(); }
  ~ReaderMutexLock() RELEASE() { mu_.UnlockShared(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// A condition variable over a Mutex the caller holds. Wakeups may be spurious: wait in a loop
// over the condition. The mutex is held again when a wait returns.
class CondVar {
 public:
  using Clock = std::chrono::steady_clock;

  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // the caller's MutexLock still owns it
  }
  // Returns false once `deadline` has passed (the wait timed out), true on a wakeup.
  template <typename C, typename D>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<C, D> deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  template <typename R, typename P>
  bool WaitFor(Mutex& mu, std::chrono::duration<R, P> timeout) REQUIRES(mu) {
    return WaitUntil(mu, Clock::now() + timeout);
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace cqrs
