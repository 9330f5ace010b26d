#include "app/adsd/store_ahead.h"

#include <functional>

#include "ads/validation_worker.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/pg/connection.h"
#include "cqrs/projection/projection_runner.h"
#include "cqrs/sql/sqlite.h"
#include "cqrs/store/postgres/checkpoints.h"

namespace adsd::app {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kReadModelProjection = "ads";
// A read process may read a replica that has not replayed its model's last events yet.
constexpr std::chrono::milliseconds kHeadWait{1000};
// The bus relay's checkpoints are named "bus-relay:<topic>" (service.cc).
constexpr std::string_view kRelayPrefix = "bus-relay:";

// One consumer found ahead, and how to repair it.
struct Ahead {
  std::string what;  // "the SQLite read model (DATA_DIR/read.db) is at position 42, past ..."
  std::function<cqrs::Result<std::string>()> repair;
};

cqrs::Status CheckStoreCheckpoints(cqrs::pg::Connection& db, std::vector<Ahead>& out) {
  ASSIGN_OR_RETURN(std::vector<cqrs::NamedCheckpoint> found, cqrs::FindNamedCheckpointsAhead(db));
  for (cqrs::NamedCheckpoint& n : found) {
    const std::string what =
        "the checkpoint '" + n.name + "' in the event store's table checkpoints " + n.check.Describe();
    if (n.name.starts_with(kRelayPrefix)) {
      out.push_back({what, [&db, name = n.name, what]() -> cqrs::Result<std::string> {
                       RETURN_IF_ERROR(
                           db.Query("DELETE FROM checkpoints WHERE name = $1", {cqrs::pg::Param::Text(name)}).status());
                       return what + "; removed: the relay publishes the store from its start";
                     }});
    } else {
      // The webhook fan-out: what it fanned out up to the head was the same history (the store
      // is a prefix of what it saw); after the head, nothing is left to deliver. Resending every
      // webhook from the start would flood the retailers' endpoints.
      out.push_back({what, [&db, name = n.name, what]() -> cqrs::Result<std::string> {
                       RETURN_IF_ERROR(db.Query("UPDATE checkpoints SET position = h.position, hash = h.hash, "
                                                "updated_at = now() FROM log_head h WHERE h.id = 1 AND name = $1",
                                                {cqrs::pg::Param::Text(name)})
                                           .status());
                       return what + "; set to the store's head";
                     }});
    }
  }
  return cqrs::Status::Ok();
}

cqrs::Status CheckSqliteReadModel(const cqrs::EventStore& store, const fs::path& path, std::vector<Ahead>& out) {
  if (!fs::exists(path)) return cqrs::Status::Ok();
  std::optional<cqrs::ConsumerCheckpoint> cp;
  {
    ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(path, {.read_only = true}));
    ASSIGN_OR_RETURN(cp, cqrs::projection::ReadCheckpoint(*db, kReadModelProjection));
  }
  if (!cp) return cqrs::Status::Ok();
  ASSIGN_OR_RETURN(cqrs::CheckpointCheck c, cqrs::CheckCheckpoint(store, *cp, kHeadWait));
  if (!c.ahead()) return cqrs::Status::Ok();
  const std::string what = "the SQLite read model (" + path.string() + ") " + c.Describe();
  out.push_back({what, [path, what]() -> cqrs::Result<std::string> {
                   // Removed, not patched: rows of events the store no longer has are in it.
                   for (const char* suffix : {"", "-wal", "-shm"}) {
                     RETURN_IF_ERROR(cqrs::log::RemoveFile(path.string() + suffix));
                   }
                   RETURN_IF_ERROR(cqrs::log::SyncDir(path.has_parent_path() ? path.parent_path() : fs::path(".")));
                   return what + "; removed: it is rebuilt from the store";
                 }});
  return cqrs::Status::Ok();
}

cqrs::Status CheckValidatorOffset(const cqrs::EventStore& store, const fs::path& dir, std::vector<Ahead>& out) {
  if (!fs::exists(dir)) return cqrs::Status::Ok();
  ASSIGN_OR_RETURN(auto offsets, cqrs::log::ConsumerOffsets::Open(dir));
  const std::string group(ads::ValidationWorker::kGroup);
  const cqrs::Position at = offsets->Load(group);
  ASSIGN_OR_RETURN(cqrs::CheckpointCheck c, cqrs::CheckCheckpoint(store, {at, std::nullopt}, kHeadWait));
  if (!c.ahead()) return cqrs::Status::Ok();
  const fs::path file = dir / (group + ".offset");
  const std::string what = "the validator's offset (" + file.string() + ") " + c.Describe();
  out.push_back({what, [dir, group, what]() -> cqrs::Result<std::string> {
                   // Back to the start, not to the head: verdicts it appended after the point the
                   // store went back to are gone with it, for events the store still has. Every
                   // event is then a possible repeat: judged only if its ad still waits for one.
                   ASSIGN_OR_RETURN(auto o, cqrs::log::ConsumerOffsets::Open(dir));
                   RETURN_IF_ERROR(o->Commit(group, cqrs::Position(0)));
                   return what + "; set back to 0: every ad still undecided is judged";
                 }});
  return cqrs::Status::Ok();
}

}  // namespace

cqrs::Result<StoreAheadOutcome> CheckConsumersAgainstStore(const cqrs::EventStore& store,
                                                           const StoreAheadCheck& check) {
  StoreAheadOutcome outcome;
  std::vector<Ahead> ahead;
  std::unique_ptr<cqrs::pg::Connection> db;
  if (check.checks_store_checkpoints || check.bus) {
    ASSIGN_OR_RETURN(db, cqrs::pg::Connection::Open(check.store_url));
  }
  if (check.checks_store_checkpoints) RETURN_IF_ERROR(CheckStoreCheckpoints(*db, ahead));
  if (check.sqlite_read_model) RETURN_IF_ERROR(CheckSqliteReadModel(store, *check.sqlite_read_model, ahead));
  if (check.offsets_dir) RETURN_IF_ERROR(CheckValidatorOffset(store, *check.offsets_dir, ahead));
  std::optional<std::string> bus_ahead;
  if (check.bus) {
    auto settled = cqrs::kafka::SettleGeneration(*db, store, *check.bus, check.policy);
    if (settled.ok()) {
      outcome.generation = settled->generation;
      if (settled->started) outcome.repairs.push_back("repaired: the Kafka " + *settled->started);
    } else if (settled.status().code() == cqrs::StatusCode::kCorruption) {
      bus_ahead = "the Kafka " + settled.status().message();  // refused: named with the others
    } else {
      return settled.status();
    }
  }
  if (ahead.empty() && !bus_ahead) return outcome;
  if (check.policy == cqrs::AheadPolicy::kRefuse) {
    std::string msg = "consumers are ahead of the event store:";
    for (const Ahead& a : ahead) msg += " " + a.what + ";";
    if (bus_ahead) msg += " " + *bus_ahead + ";";
    msg += " " + std::string(kStoreAheadRemedy);
    return cqrs::Corruption(msg);
  }
  for (const Ahead& a : ahead) {
    ASSIGN_OR_RETURN(std::string done, a.repair());
    outcome.repairs.push_back("repaired: " + done);
  }
  return outcome;
}

}  // namespace adsd::app
