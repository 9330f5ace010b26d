// bank: an event-sourced bank on the cqrs engine, built against the installed package.
//
//   bank [--store DIR | postgresql://USER@HOST:PORT/DB] [--bus kafka://HOST:PORT] [--data-dir DIR]
//
// (or BANK_STORE, BANK_BUS in the environment). With a directory (default ./bank-data/log) the
// events go to the engine's embedded log; with a postgresql:// URL, to PostgreSQL; with a
// kafka:// bus as well, the audit trail reads the events from a Kafka consumer group, which a
// relay fills from the store. Nothing else changes: the commands, the projection and the audit
// are written against cqrs::EventStore.
//
// It opens two accounts, races two tellers on one of them (one wins, the other gets a version
// conflict, reloads and retries), refuses an overdraft, loads an account from its snapshot, reads
// an account an older version of the bank wrote (upcast on read), then prints the balances from
// the SQLite read model and what the audit trail saw.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "account.h"
#include "audit.h"
#include "balances_projection.h"
#include "cqrs/projection/fresh_file_rebuild.h"
#include "cqrs/projection/projection_runner.h"
#include "cqrs/snapshot/postgres_snapshot_store.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/store/embedded_store.h"
#include "cqrs/store/log_prefix_store.h"
#include "cqrs/store/postgres/store.h"
#ifdef BANK_WITH_KAFKA
#include "cqrs/kafka/consumer.h"
#include "cqrs/kafka/relay.h"
#endif

namespace {

struct Options {
  std::string store;  // a directory or a postgresql:// URL
  std::string bus;    // empty or kafka://
  std::filesystem::path data_dir = "bank-data";
};

// [snippet:open]
// The event store (read through the bank's upcasters) and its snapshots, on the same backend.
struct Storage {
  std::unique_ptr<cqrs::EventStore> events;
  std::unique_ptr<cqrs::SnapshotStore> snapshots;
};

cqrs::Result<Storage> OpenStorage(const std::string& where, const std::filesystem::path& data_dir) {
  Storage storage;
  if (where.starts_with("postgresql://") || where.starts_with("postgres://")) {
    ASSIGN_OR_RETURN(storage.events, cqrs::OpenPostgresEventStore({.url = where}));
    ASSIGN_OR_RETURN(storage.snapshots, cqrs::OpenPostgresSnapshotStore(where));
  } else {
    ASSIGN_OR_RETURN(storage.events, cqrs::OpenEmbeddedEventStore({.dir = where}));
    ASSIGN_OR_RETURN(storage.snapshots, cqrs::OpenSqliteSnapshotStore(data_dir / "snapshots.db"));
  }
  storage.events = cqrs::WithUpcasters(std::move(storage.events), bank::AccountUpcasters());
  return storage;
}
// [end:open]

// The audit trail's feed: a subscription to the store, or a relay and a Kafka consumer group.
class AuditFeed {
 public:
  virtual ~AuditFeed() = default;
};

// [snippet:subscribe]
class StoreFeed final : public AuditFeed {
 public:
  static cqrs::Result<std::unique_ptr<AuditFeed>> Start(cqrs::EventStore& store, bank::Audit& audit) {
    auto feed = std::make_unique<StoreFeed>();
    // From the head on: the events appended from now (Position(1) would replay the whole store).
    ASSIGN_OR_RETURN(feed->subscription_,
                     store.Subscribe(store.Head().next(), 256, [&audit](std::span<const cqrs::RecordedEvent> batch) {
                       for (const cqrs::RecordedEvent& e : batch) audit.Record(e);
                       return cqrs::Status::Ok();  // an error would stop the subscription
                     }));
    return std::unique_ptr<AuditFeed>(std::move(feed));
  }

 private:
  std::unique_ptr<cqrs::Subscription> subscription_;  // destroying it stops delivery
};
// [end:subscribe]

#ifdef BANK_WITH_KAFKA
// [snippet:kafka]
class KafkaFeed final : public AuditFeed {
 public:
  static cqrs::Result<std::unique_ptr<AuditFeed>> Start(cqrs::EventStore& store, const std::string& postgres_url,
                                                        const std::string& bus_url, const std::string& run,
                                                        bank::Audit& audit) {
    ASSIGN_OR_RETURN(cqrs::kafka::BusOptions bus,
                     cqrs::kafka::ParseBusUrl(bus_url, {.topic = "bank.events", .partitions = 4}));
    RETURN_IF_ERROR(cqrs::kafka::EnsureTopic(bus));
    auto feed = std::make_unique<KafkaFeed>();
    // The relay publishes the store's global order to the topic (one leader among all processes,
    // its checkpoint in PostgreSQL); the consumer group reads it back, each account in order.
    ASSIGN_OR_RETURN(feed->relay_, cqrs::kafka::BusRelay::Start(
                                       store, {.bus = bus, .postgres_url = postgres_url, .name = "bank-relay"}));
    ASSIGN_OR_RETURN(feed->consumer_, cqrs::kafka::BusConsumer::Start(
                                          {.bus = bus, .group = "bank-audit-" + run},
                                          cqrs::consumer::Synchronous([&audit](const cqrs::RecordedEvent& e) {
                                            audit.Record(e);
                                            return cqrs::Status::Ok();
                                          })));
    return std::unique_ptr<AuditFeed>(std::move(feed));
  }

 private:
  std::unique_ptr<cqrs::kafka::BusRelay> relay_;
  std::unique_ptr<cqrs::kafka::BusConsumer> consumer_;
};
// [end:kafka]
#endif

// Prints what an append did, or why it did not; whether it succeeded.
bool Report(std::string_view what, const cqrs::Result<cqrs::AppendResult>& r) {
  if (r.ok()) {
    std::printf("%s: ok, version %llu\n", std::string(what).c_str(),
                static_cast<unsigned long long>(r->last_version.value()));
  } else {
    std::printf("%s: %s\n", std::string(what).c_str(), std::string(cqrs::StatusCodeName(r.status().code())).c_str());
  }
  return r.ok();
}

int Fail(const cqrs::Status& st) {
  std::fprintf(stderr, "bank: %s\n", st.ToString().c_str());
  return 1;
}

int Run(const Options& options) {
  std::filesystem::create_directories(options.data_dir);
  const std::string where = options.store.empty() ? (options.data_dir / "log").string() : options.store;
  auto opened = OpenStorage(where, options.data_dir);
  if (!opened.ok()) return Fail(opened.status());
  cqrs::EventStore& store = *opened->events;
  cqrs::SnapshotStore& snapshots = *opened->snapshots;
  const bool on_postgres = where.find("://") != std::string::npos;
  std::printf("store: %s\n", on_postgres ? "postgresql" : "embedded log");

  // This run's accounts: a store may hold earlier runs' (a shared PostgreSQL database).
  const std::string run = cqrs::Uuid::V7().ToString().substr(24);
  const std::string prefix = "account-" + run + "-";
  bank::Audit audit(prefix);
  cqrs::Result<std::unique_ptr<AuditFeed>> feed = cqrs::Unavailable("no feed");
  if (options.bus.empty()) {
    feed = StoreFeed::Start(store, audit);
  } else {
#ifdef BANK_WITH_KAFKA
    if (!on_postgres) return Fail(cqrs::InvalidArgument("--bus needs a postgresql:// store (the relay's checkpoint)"));
    feed = KafkaFeed::Start(store, where, options.bus, run, audit);
#else
    return Fail(cqrs::InvalidArgument("this build has no Kafka (the cqrs package's kafka component)"));
#endif
  }
  if (!feed.ok()) return Fail(feed.status());
  std::printf("audit: %s\n", options.bus.empty() ? "store subscription" : "kafka consumer group");

  // [snippet:runner]
  bank::BalancesProjection balances;
  auto db = cqrs::sql::Database::Open(options.data_dir / "balances.db");
  if (!db.ok()) return Fail(db.status());
  cqrs::projection::ProjectionRunner runner(store, std::move(*db), balances);
  if (auto st = runner.Start(); !st.ok()) return Fail(st);  // migrates, then follows the store
  // [end:runner]

  const std::string alice = prefix + "alice", bob = prefix + "bob", carol = prefix + "carol";
  auto load = [&](const std::string& stream) {
    auto account = bank::LoadAccount(store, &snapshots, stream);
    if (!account.ok()) std::exit(Fail(account.status()));
    return *account;
  };
  Report("open alice", bank::Open(store, alice, load(alice), "alice"));
  Report("deposit 100 to alice", bank::Deposit(store, alice, load(alice), 100));
  Report("open bob", bank::Open(store, bob, load(bob), "bob"));

  // [snippet:conflict]
  // Two tellers read alice's account at the same version and both decide to withdraw.
  bank::LoadedAccount teller1 = load(alice), teller2 = load(alice);
  std::printf("tellers 1 and 2 read alice at version %llu, balance %lld\n",
              static_cast<unsigned long long>(teller1.version.value()), static_cast<long long>(teller1.state.balance));
  Report("teller 1 withdraws 30", bank::Withdraw(store, alice, teller1, 30));
  if (!Report("teller 2 withdraws 50", bank::Withdraw(store, alice, teller2, 50))) {
    teller2 = load(alice);  // the decision is made again on what the stream now says
    Report("teller 2 reloads and withdraws 50", bank::Withdraw(store, alice, teller2, 50));
  }
  // [end:conflict]
  auto overdraft = bank::Withdraw(store, bob, load(bob), 10);
  std::printf("bob withdraws 10: %s\n", overdraft.ok() ? "ok" : overdraft.status().message().c_str());

  // [snippet:read]
  // A stream, read directly: events from version 1 on, at most 100 (page on for more).
  auto history = store.ReadStream(alice, cqrs::StreamVersion(1), 100);
  if (!history.ok()) return Fail(history.status());
  for (const cqrs::RecordedEvent& e : *history) {
    std::printf("  alice v%llu (position %llu): %s %s\n", static_cast<unsigned long long>(e.version.value()),
                static_cast<unsigned long long>(e.position.value()), e.type.c_str(), e.payload.c_str());
  }
  // [end:read]

  // [snippet:snapshot]
  // A snapshot of alice at her current version: the next load reads only the events after it.
  bank::LoadedAccount before = load(alice);
  if (auto st = cqrs::SaveSnapshot(snapshots, alice, before, bank::AccountCodec()); !st.ok()) return Fail(st);
  bank::LoadedAccount after = load(alice);
  std::printf("alice from her snapshot at version %llu: %zu events replayed, balance %lld\n",
              static_cast<unsigned long long>(after.snapshot_version.value()), after.events_replayed,
              static_cast<long long>(after.state.balance));
  // [end:snapshot]

  // Carol's account as the bank's first version wrote it: amounts in whole dollars (schema 1).
  // The upcasters turn them into cents on every read: the aggregate, the projection, the audit.
  cqrs::EventData legacy[2];
  legacy[0].event_id = cqrs::Uuid::V7();
  legacy[0].type = "AccountOpened";
  legacy[0].payload = "carol";
  legacy[1].event_id = cqrs::Uuid::V7();
  legacy[1].type = "Deposited";
  legacy[1].schema_version = 1;
  legacy[1].payload = "5";
  if (auto r = store.Append(carol, cqrs::ExpectedVersion::NoStream(), legacy); !r.ok()) return Fail(r.status());
  std::printf("carol, written in dollars by the first version: balance %lld\n",
              static_cast<long long>(load(carol).state.balance));

  // [snippet:read_model]
  // The read model catches up asynchronously: wait for the store's head, then query it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  if (!runner.WaitFor(store.Head(), deadline)) return Fail(cqrs::DeadlineExceeded("read model"));
  auto reader = cqrs::sql::Database::Open(options.data_dir / "balances.db", {.read_only = true});
  if (!reader.ok()) return Fail(reader.status());
  auto query = (*reader)->Prepare("SELECT owner, cents, version FROM balances WHERE stream LIKE ?1 ORDER BY owner");
  if (!query.ok()) return Fail(query.status());
  query->Bind(1, prefix + "%");
  for (auto row = query->Step(); row.ok() && *row; row = query->Step()) {
    std::printf("balance %s: %lld (version %lld)\n", std::string(query->Text(0)).c_str(),
                static_cast<long long>(query->Int(1)), static_cast<long long>(query->Int(2)));
  }
  // [end:read_model]

  // [snippet:past]
  // The balances as they stood when alice's deposit was recorded: a read model of the log up to
  // that position, in a new file, while the store keeps serving (a view of the log's past).
  const cqrs::Position deposited = (*history)[1].position;
  auto past = cqrs::OpenLogPrefix(store, {.position = deposited});
  if (!past.ok()) return Fail(past.status());
  bank::BalancesProjection then;
  const auto past_file = options.data_dir / ("balances-at-" + std::to_string(deposited.value()) + ".db");
  auto rebuilt = cqrs::projection::RebuildIntoNewFile(**past, then, past_file, {});
  if (!rebuilt.ok()) return Fail(rebuilt.status());
  auto past_reader = cqrs::sql::Database::Open(past_file, {.read_only = true});
  if (!past_reader.ok()) return Fail(past_reader.status());
  auto past_query = (*past_reader)->Prepare("SELECT cents FROM balances WHERE stream = ?1");
  if (!past_query.ok()) return Fail(past_query.status());
  past_query->Bind(1, alice);
  if (auto row = past_query->Step(); row.ok() && *row) {
    std::printf("balance alice when the deposit was recorded: %lld\n", static_cast<long long>(past_query->Int(0)));
  }
  // [end:past]

  const bool complete = audit.WaitFor(7, deadline);
  std::printf("audit saw: %s%s\n", audit.Summary().c_str(), complete ? "" : " (incomplete)");
  return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const char* s = std::getenv("BANK_STORE")) options.store = s;
  if (const char* b = std::getenv("BANK_BUS")) options.bus = b;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--store") {
      options.store = argv[i + 1];
    } else if (flag == "--bus") {
      options.bus = argv[i + 1];
    } else if (flag == "--data-dir") {
      options.data_dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: bank [--store DIR|postgresql://...] [--bus kafka://...] [--data-dir DIR]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: bank [--store DIR|postgresql://...] [--bus kafka://...] [--data-dir DIR]\n");
    return 2;
  }
  return Run(options);
}
