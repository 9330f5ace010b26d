// Status and Result<T>: expected outcomes as values.
//
// A small, fixed set of codes. A version conflict is its own code (kVersionConflict) so callers
// can map it to HTTP 409/412 without string matching. Exceptions are for the edges only
// (third-party calls, Beast handlers); they are converted to a Status at the boundary.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cqrs {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // the caller passed something malformed; nothing was changed
  kNotFound,          // the stream, record or file does not exist
  kVersionConflict,   // an expected-version check failed (optimistic concurrency)
  kAlreadyExists,     // e.g. an event id reused with different content
  kCorruption,        // stored bytes are damaged; the message names file and offset
  kIoError,           // the operating system refused a read, write or sync
  kPoisoned,          // the writer failed durably before; nothing more is acknowledged
  kUnavailable,       // closed, shutting down, or a dependency is down; may be retried
  kDeadlineExceeded,  // a bounded wait ran out
  kInternal,          // a broken invariant
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "VersionConflict: stream ad-1 is at version 3, expected 2"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status VersionConflict(std::string m) { return {StatusCode::kVersionConflict, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Poisoned(std::string m) { return {StatusCode::kPoisoned, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// An IoError that carries strerror(errno) and what was being done: "fdatasync log/0.seg: ..."
Status ErrnoError(std::string_view what, int err);

// Either a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cqrs

#define CQRS_CONCAT_INNER(a, b) a##b
#define CQRS_CONCAT(a, b) CQRS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define RETURN_IF_ERROR(expr)    \
  do {                           \
    ::cqrs::Status _st = (expr); \
    if (!_st.ok()) return _st;   \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()); returns the error Status if the Result is not ok.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(CQRS_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
