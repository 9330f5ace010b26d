#include "app/common/consumers_ahead.h"

#include <fmt/core.h>

#include <algorithm>

#include "ads/validation_worker.h"
#include "app/common/data_dir.h"
#include "cqrs/log/consumer_offsets.h"
#include "cqrs/log/segment_file.h"
#include "cqrs/sql/sqlite.h"

namespace adsd::app {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kReadModelProjection = "ads";

// The read model's checkpoint, or nullopt when there is no read model (yet).
cqrs::Result<std::optional<cqrs::Position>> ReadModelCheckpoint(const fs::path& read_model) {
  if (!fs::exists(read_model)) return std::optional<cqrs::Position>();
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(read_model, {.read_only = true}));
  auto has_table = db->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_checkpoints'");
  if (!has_table.ok()) return has_table.status();
  ASSIGN_OR_RETURN(bool table, has_table->Step());
  if (!table) return std::optional<cqrs::Position>();
  ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT position FROM projection_checkpoints WHERE projection = ?"));
  q.Bind(1, kReadModelProjection);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<cqrs::Position>();
  return std::optional<cqrs::Position>(cqrs::Position(static_cast<std::uint64_t>(q.Int(0))));
}

constexpr std::string_view kOffsetSuffix = ".offset";

std::string ReadModelName(const fs::path& read_model) { return "read model (" + read_model.string() + ")"; }
std::string OffsetName(const fs::path& data_dir, const std::string& group) {
  return (group == ads::ValidationWorker::kGroup ? "validator" : group) + " offset (" +
         (OffsetsDir(data_dir) / group).string() + std::string(kOffsetSuffix) + ")";
}

// Every consumer group with an offset file in DATA_DIR/offsets (the validator's, and any other).
std::vector<std::string> OffsetGroups(const fs::path& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(OffsetsDir(data_dir), ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(kOffsetSuffix)) out.push_back(name.substr(0, name.size() - kOffsetSuffix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

cqrs::Result<std::vector<ConsumerAhead>> FindConsumersAhead(const fs::path& data_dir, const fs::path& read_model,
                                                            cqrs::Position head) {
  std::vector<ConsumerAhead> out;
  ASSIGN_OR_RETURN(std::optional<cqrs::Position> projected, ReadModelCheckpoint(read_model));
  if (projected && *projected > head) out.push_back({ReadModelName(read_model), *projected, ""});
  if (fs::exists(OffsetsDir(data_dir))) {
    ASSIGN_OR_RETURN(auto offsets, cqrs::log::ConsumerOffsets::Open(OffsetsDir(data_dir)));
    for (const std::string& group : OffsetGroups(data_dir)) {
      const cqrs::Position at = offsets->Load(group);
      if (at > head) out.push_back({OffsetName(data_dir, group), at, group});
    }
  }
  return out;
}

cqrs::Result<std::vector<std::string>> CheckConsumersNotAhead(const fs::path& data_dir, const fs::path& read_model,
                                                              cqrs::Position head, AheadPolicy policy) {
  ASSIGN_OR_RETURN(std::vector<ConsumerAhead> ahead, FindConsumersAhead(data_dir, read_model, head));
  std::vector<std::string> done;
  if (ahead.empty()) return done;
  const std::string head_text = std::to_string(head.value());
  if (policy == AheadPolicy::kRefuse) {
    std::string msg = "consumers are ahead of the event log, which ends at position " + head_text +
                      " (its recovery cut records they had read):";
    for (const auto& c : ahead) msg += " the " + c.consumer + " is at position " + std::to_string(c.at.value()) + ";";
    msg +=
        " new events would reuse those positions and never be read or validated. Stop here and repair: "
        "`adsctl repair --data-dir " +
        data_dir.string() +
        "` (rebuilds the read model from the log at the next start and sets the consumer offsets back to the "
        "log head), or start adsd once with --repair-ahead to do the same";
    return cqrs::Corruption(msg);
  }
  for (const auto& c : ahead) {
    if (c.group.empty()) {
      // Removed, not patched: rows of the cut events are in it. The runner rebuilds it from the log.
      for (const char* suffix : {"", "-wal", "-shm"}) {
        RETURN_IF_ERROR(cqrs::log::RemoveFile(read_model.string() + suffix));
      }
      RETURN_IF_ERROR(cqrs::log::SyncDir(read_model.has_parent_path() ? read_model.parent_path() : fs::path(".")));
      done.push_back("repaired: the " + c.consumer + " was at position " + std::to_string(c.at.value()) +
                     ", past the log head " + head_text + "; removed, it is rebuilt from the log");
    } else {
      ASSIGN_OR_RETURN(auto offsets, cqrs::log::ConsumerOffsets::Open(OffsetsDir(data_dir)));
      RETURN_IF_ERROR(offsets->Commit(c.group, head));
      done.push_back("repaired: the " + c.consumer + " was at position " + std::to_string(c.at.value()) +
                     ", past the log head " + head_text + "; set back to " + head_text);
    }
  }
  return done;
}

cqrs::Status AfterLogRecovery(const cqrs::log::RecoveryReport& recovery, const fs::path& data_dir,
                              const fs::path& read_model, cqrs::Position head, AheadPolicy policy) {
  if (const std::string cut = cqrs::log::DescribeTruncation(recovery); !cut.empty()) {
    fmt::print(stderr, "adsd: {}\n", cut);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> repairs, CheckConsumersNotAhead(data_dir, read_model, head, policy));
  for (const std::string& line : repairs) fmt::print(stderr, "adsd: {}\n", line);
  return cqrs::Status::Ok();
}

}  // namespace adsd::app
