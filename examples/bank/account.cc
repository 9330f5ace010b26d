#include "account.h"

#include <charconv>

namespace bank {
namespace {

// The schema of the Deposited and Withdrawn events this version writes (1: whole dollars).
constexpr std::uint32_t kAmountSchema = 2;

cqrs::EventData Event(std::string type, std::string payload, std::uint32_t schema_version = 1) {
  cqrs::EventData e;
  e.event_id = cqrs::Uuid::V7();  // a retried append with the same id is a no-op
  e.type = std::move(type);
  e.schema_version = schema_version;
  e.payload = std::move(payload);
  return e;
}

std::int64_t Number(std::string_view text) {
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

}  // namespace

std::int64_t Amount(const cqrs::RecordedEvent& event) { return Number(event.payload); }

// [snippet:upcaster]
cqrs::Upcasters AccountUpcasters() {
  auto dollars_to_cents = [](cqrs::RecordedEvent& e) {
    e.payload = std::to_string(Number(e.payload) * 100);
    e.schema_version = 2;  // an upcaster must raise the schema version
    return cqrs::Status::Ok();
  };
  cqrs::Upcasters upcasters;
  upcasters.Add("Deposited", 1, dollars_to_cents).Add("Withdrawn", 1, dollars_to_cents);
  return upcasters;
}
// [end:upcaster]

// [snippet:codec]
const cqrs::AggregateCodec<Account>& AccountCodec() {
  static const cqrs::AggregateCodec<Account> codec{
      .schema_version = 1,  // of the snapshot's format below
      .serialize = [](const Account& a) { return std::to_string(a.balance) + "\n" + a.owner; },
      .deserialize = [](std::string_view text) -> cqrs::Result<Account> {
        const auto newline = text.find('\n');
        if (newline == std::string_view::npos) return cqrs::InvalidArgument("not an account snapshot");
        return Account{
            .owner = std::string(text.substr(newline + 1)), .balance = Number(text.substr(0, newline)), .open = true};
      },
      .apply =
          [](Account& account, const cqrs::RecordedEvent& event) {
            if (event.type == "AccountOpened") {
              account.open = true;
              account.owner = event.payload;
            } else if (event.type == "Deposited") {
              account.balance += Amount(event);
            } else if (event.type == "Withdrawn") {
              account.balance -= Amount(event);
            }
          }};
  return codec;
}

cqrs::Result<LoadedAccount> LoadAccount(const cqrs::EventStore& store, const cqrs::SnapshotStore* snapshots,
                                        std::string_view stream) {
  // The snapshot's state, then ReadStream from the version after it, a page at a time.
  return cqrs::LoadAggregate(store, snapshots, stream, AccountCodec());
}
// [end:codec]

cqrs::Result<cqrs::AppendResult> Open(cqrs::EventStore& store, std::string_view stream, const LoadedAccount& account,
                                      std::string_view owner) {
  if (account.state.open) return cqrs::InvalidArgument(std::string(stream) + " is already open");
  cqrs::EventData opened = Event("AccountOpened", std::string(owner));
  return store.Append(stream, cqrs::ExpectedVersion::NoStream(), std::span(&opened, 1));
}

cqrs::Result<cqrs::AppendResult> Deposit(cqrs::EventStore& store, std::string_view stream, const LoadedAccount& account,
                                         std::int64_t cents) {
  if (!account.state.open) return cqrs::InvalidArgument(std::string(stream) + " is not open");
  if (cents <= 0) return cqrs::InvalidArgument("a deposit must be positive");
  cqrs::EventData deposited = Event("Deposited", std::to_string(cents), kAmountSchema);
  return store.Append(stream, cqrs::ExpectedVersion::Exact(account.version), std::span(&deposited, 1));
}

// [snippet:withdraw]
cqrs::Result<cqrs::AppendResult> Withdraw(cqrs::EventStore& store, std::string_view stream,
                                          const LoadedAccount& account, std::int64_t cents) {
  if (!account.state.open) return cqrs::InvalidArgument(std::string(stream) + " is not open");
  if (cents > account.state.balance) {
    return cqrs::InvalidArgument("insufficient funds: balance " + std::to_string(account.state.balance));
  }
  cqrs::EventData withdrawn = Event("Withdrawn", std::to_string(cents), kAmountSchema);
  // The decision holds only for the version it was made at: the append fails with
  // kVersionConflict, and writes nothing, if another command got there first.
  return store.Append(stream, cqrs::ExpectedVersion::Exact(account.version), std::span(&withdrawn, 1));
}
// [end:withdraw]

}  // namespace bank
