// The bank's write side: an account is a stream of events, and a command is decided against the
// account as its events say it is, then appended at the version it was read at. Two tellers who
// read the same version race; the store lets one win and tells the other (kVersionConflict).
//
// Accounts load from their latest snapshot plus the events after it (cqrs/snapshot), and events
// written by an older version of the bank are upcast as they are read (AccountUpcasters).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/snapshot/aggregate.h"
#include "cqrs/store/event_store.h"
#include "cqrs/store/upcasting_store.h"

namespace bank {

struct Account {
  std::string owner;
  std::int64_t balance = 0;  // cents
  bool open = false;
};
// The account and the stream version it reflects (the version a command appends at).
using LoadedAccount = cqrs::LoadedAggregate<Account>;

// How an account folds from its events and how its snapshots are written.
const cqrs::AggregateCodec<Account>& AccountCodec();

// The account from its latest snapshot (if `snapshots` is not null) and the events after it.
cqrs::Result<LoadedAccount> LoadAccount(const cqrs::EventStore& store, const cqrs::SnapshotStore* snapshots,
                                        std::string_view stream);

// Commands. Each appends at `account.version`: kVersionConflict when the stream has moved on
// since `account` was read, kInvalidArgument when the account's state forbids it.
cqrs::Result<cqrs::AppendResult> Open(cqrs::EventStore& store, std::string_view stream, const LoadedAccount& account,
                                      std::string_view owner);
cqrs::Result<cqrs::AppendResult> Deposit(cqrs::EventStore& store, std::string_view stream, const LoadedAccount& account,
                                         std::int64_t cents);
cqrs::Result<cqrs::AppendResult> Withdraw(cqrs::EventStore& store, std::string_view stream,
                                          const LoadedAccount& account, std::int64_t cents);

// An event's amount in cents (Deposited, Withdrawn at schema 2: the payload is the amount in cents).
std::int64_t Amount(const cqrs::RecordedEvent& event);

// Schema 1 of Deposited and Withdrawn (the bank's first version) counted whole dollars.
cqrs::Upcasters AccountUpcasters();

}  // namespace bank
