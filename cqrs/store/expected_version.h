// ExpectedVersion: the optimistic-concurrency precondition of an append.
#pragma once

#include <string>

#include "cqrs/core/types.h"

namespace cqrs {

class ExpectedVersion {
 public:
  enum class Kind { kAny, kNoStream, kExists, kExact };

  static ExpectedVersion Any() { return ExpectedVersion(Kind::kAny, StreamVersion(0)); }
  static ExpectedVersion NoStream() { return ExpectedVersion(Kind::kNoStream, StreamVersion(0)); }
  static ExpectedVersion Exists() { return ExpectedVersion(Kind::kExists, StreamVersion(0)); }
  // The stream must hold exactly `v` events. Exact(0) is the same as NoStream().
  static ExpectedVersion Exact(StreamVersion v) { return ExpectedVersion(Kind::kExact, v); }

  Kind kind() const { return kind_; }
  StreamVersion version() const { return version_; }

  // Whether a stream currently at `current` (0 = does not exist) satisfies this expectation.
  bool IsSatisfiedBy(StreamVersion current) const {
    switch (kind_) {
      case Kind::kAny:
        return true;
      case Kind::kNoStream:
        return current.value() == 0;
      case Kind::kExists:
        return current.value() > 0;
      case Kind::kExact:
        return current == version_;
    }
    return false;
  }

  // "any", "no_stream", "exists", "7".
  std::string ToString() const {
    switch (kind_) {
      case Kind::kAny:
        return "any";
      case Kind::kNoStream:
        return "no_stream";
      case Kind::kExists:
        return "exists";
      case Kind::kExact:
        return std::to_string(version_.value());
    }
    return "?";
  }

  bool operator==(const ExpectedVersion&) const = default;

 private:
  ExpectedVersion(Kind k, StreamVersion v) : kind_(k), version_(v) {}
  Kind kind_;
  StreamVersion version_;
};

}  // namespace cqrs
