// The bank's write side: an account is a stream of events, and a command is decided against the
// account as its events say it is, then appended at the version it was read at. Two tellers who
// read the same version race; the store lets one win and tells the other (kVersionConflict).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/store/event_store.h"

namespace bank {

// The account as its stream says, and the stream version that says it.
struct Account {
  std::string stream;  // "account-<id>"
  std::string owner;
  std::int64_t balance = 0;
  bool open = false;
  cqrs::StreamVersion version{0};  // 0: no such account yet
};

// Reads the account's stream from the start and folds its events.
cqrs::Result<Account> LoadAccount(const cqrs::EventStore& store, std::string_view stream);

// Commands. Each appends at `account.version`: kVersionConflict when the stream has moved on
// since `account` was read, kInvalidArgument when the account's state forbids it.
cqrs::Result<cqrs::AppendResult> Open(cqrs::EventStore& store, const Account& account, std::string_view owner);
cqrs::Result<cqrs::AppendResult> Deposit(cqrs::EventStore& store, const Account& account, std::int64_t cents);
cqrs::Result<cqrs::AppendResult> Withdraw(cqrs::EventStore& store, const Account& account, std::int64_t cents);

// An event's amount (Deposited, Withdrawn: the payload is the amount in cents, in decimal).
std::int64_t Amount(const cqrs::RecordedEvent& event);

}  // namespace bank
