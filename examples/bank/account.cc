#include "account.h"

#include <charconv>

namespace bank {
namespace {

cqrs::EventData Event(std::string type, std::string payload) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();  // a retried append with the same id is a no-op
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

void Apply(Account& account, const cqrs::RecordedEvent& event) {
  if (event.type == "AccountOpened") {
    account.open = true;
    account.owner = event.payload;
  } else if (event.type == "Deposited") {
    account.balance += Amount(event);
  } else if (event.type == "Withdrawn") {
    account.balance -= Amount(event);
  }
  account.version = event.version;
}

}  // namespace

std::int64_t Amount(const cqrs::RecordedEvent& event) {
  std::int64_t cents = 0;
  std::from_chars(event.payload.data(), event.payload.data() + event.payload.size(), cents);
  return cents;
}

// [snippet:load]
cqrs::Result<Account> LoadAccount(const cqrs::EventStore& store, std::string_view stream) {
  Account account;
  account.stream = stream;
  cqrs::StreamVersion from(1);
  while (true) {
    ASSIGN_OR_RETURN(auto events, store.ReadStream(stream, from, 512));
    if (events.empty()) return account;
    for (const cqrs::RecordedEvent& e : events) Apply(account, e);
    from = account.version.next();
  }
}
// [end:load]

cqrs::Result<cqrs::AppendResult> Open(cqrs::EventStore& store, const Account& account, std::string_view owner) {
  if (account.open) return cqrs::InvalidArgument(account.stream + " is already open");
  cqrs::EventData opened = Event("AccountOpened", std::string(owner));
  return store.Append(account.stream, cqrs::ExpectedVersion::NoStream(), std::span(&opened, 1));
}

cqrs::Result<cqrs::AppendResult> Deposit(cqrs::EventStore& store, const Account& account, std::int64_t cents) {
  if (!account.open) return cqrs::InvalidArgument(account.stream + " is not open");
  if (cents <= 0) return cqrs::InvalidArgument("a deposit must be positive");
  cqrs::EventData deposited = Event("Deposited", std::to_string(cents));
  return store.Append(account.stream, cqrs::ExpectedVersion::Exact(account.version), std::span(&deposited, 1));
}

// [snippet:withdraw]
cqrs::Result<cqrs::AppendResult> Withdraw(cqrs::EventStore& store, const Account& account, std::int64_t cents) {
  if (!account.open) return cqrs::InvalidArgument(account.stream + " is not open");
  if (cents > account.balance) {
    return cqrs::InvalidArgument("insufficient funds: balance " + std::to_string(account.balance));
  }
  cqrs::EventData withdrawn = Event("Withdrawn", std::to_string(cents));
  // The decision holds only for the version it was made at: the append fails with
  // kVersionConflict, and writes nothing, if another command got there first.
  return store.Append(account.stream, cqrs::ExpectedVersion::Exact(account.version),
                      std::span(&withdrawn, 1));
}
// [end:withdraw]

}  // namespace bank
