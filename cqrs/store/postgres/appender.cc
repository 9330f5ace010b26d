#include "cqrs/store/postgres/appender.h"

#include <algorithm>
#include <numeric>

#include "cqrs/core/hex.h"
#include "cqrs/store/postgres/rows.h"

namespace cqrs {

namespace {

using pg::Param;

// How often a batch is redone after losing a (stream, version) or event id race. Each redo reads
// the winners' rows, so a loser conflicts or moves on; this bounds a pathological storm.
constexpr int kAttempts = 16;

// Events an append transaction numbers at most (its own and the ones before them).
constexpr std::int64_t kNumberAtMost = 8192;

// An expected version as cqrs_append takes it (schema.cc).
std::int64_t ExpectedCode(const ExpectedVersion& e) {
  switch (e.kind()) {
    case ExpectedVersion::Kind::kAny:
      return -1;
    case ExpectedVersion::Kind::kNoStream:
      return -2;
    case ExpectedVersion::Kind::kExists:
      return -3;
    case ExpectedVersion::Kind::kExact:
      break;
  }
  return static_cast<std::int64_t>(e.version().value());
}

// A text[] of hex strings in its text form ({ab01,"",…}) as bytes.
std::vector<std::string> ParseHexArray(std::string_view t) {
  std::vector<std::string> out;
  if (t.size() < 2) return out;
  t = t.substr(1, t.size() - 2);
  while (!t.empty() || !out.empty()) {
    const std::size_t comma = t.find(',');
    std::string_view h = t.substr(0, comma);
    if (h.size() >= 2 && h.front() == '"') h = h.substr(1, h.size() - 2);
    std::string bytes;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
      bytes += static_cast<char>(HexDigitValue(h[i]) * 16 + HexDigitValue(h[i + 1]));
    }
    out.push_back(std::move(bytes));
    if (comma == std::string_view::npos) break;
    t.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

PgAppender::PgAppender(std::string url) : url_(std::move(url)) {}

Status PgAppender::Connect() {
  if (conn_ && conn_->healthy() && prepared_) return Status::Ok();
  prepared_ = false;
  if (!conn_) {
    ASSIGN_OR_RETURN(conn_, pg::Connection::Open(url_));
  } else if (!conn_->healthy()) {
    RETURN_IF_ERROR(conn_->Reconnect());
  }
  RETURN_IF_ERROR(
      conn_->Prepare("append",
                     "SELECT deposed, head, seqs, positions, outcomes, versions, original_times, "
                     "original_metadatas, event_seqs, "
                     "event_positions FROM cqrs_append_tagged($1, $2, $3::text[], $4::bigint[], $5::int[], $6::uuid[], "
                     "$7::text[], "
                     "$8::int[], $9::bigint[], $10::uuid[], $11::uuid[], $12::bytea[], $13::bytea[], $14::int[], "
                     "$15::text[])"));
  RETURN_IF_ERROR(conn_->Prepare(
      "append_if",
      "SELECT deposed, head, seqs, positions, outcomes, versions, original_times, original_metadatas, event_seqs, "
      "event_positions, failed, conflict_id, conflict_stream, conflict_type, conflict_position "
      "FROM cqrs_append_if($1, $2, $3::text[], $4::bigint[], $5::int[], $6::uuid[], $7::text[], $8::int[], "
      "$9::bigint[], $10::uuid[], $11::uuid[], $12::bytea[], $13::bytea[], $14::int[], $15::text[], $16, $17::int[], "
      "$18::text[], $19::int[], $20::text[], $21)"));
  prepared_ = true;
  return Status::Ok();
}

AppendCommit PgAppender::Commit(std::span<const PendingAppend> batch, std::int64_t number_token) {
  return Run(batch, nullptr, number_token);
}

AppendCommit PgAppender::CommitAll(std::span<const PendingAppend> appends,
                                   const std::optional<AppendCondition>& condition, std::int64_t number_token) {
  AppendCommit commit = Run(appends, &condition, number_token);
  // All or nothing: one append's failure is every append's.
  for (const Result<Placement>& r : commit.appends) {
    if (r.ok()) continue;
    const Status first = r.status();
    for (auto& each : commit.appends) {
      if (each.ok()) each = first;
    }
    commit.numbered.clear();
    break;
  }
  return commit;
}

AppendCommit PgAppender::Run(std::span<const PendingAppend> batch, const std::optional<AppendCondition>* condition,
                             std::int64_t number_token) {
  AppendCommit commit;
  std::vector<Result<Placement>>& out = commit.appends;
  Status st = Connect();
  for (int attempt = 0; st.ok() && attempt < kAttempts; ++attempt) {
    commit = AppendCommit{};
    st = TryCommit(batch, condition, number_token, commit);
    if (st.ok()) return commit;  // the statement's own transaction ended with it: nothing to roll back
    // Lost a race on a unique key (or a deadlock between racers): the winner is committed now.
    const bool lost_race = st.code() == StatusCode::kAlreadyExists || st.code() == StatusCode::kVersionConflict;
    if (!lost_race) break;
    st = Connect();
  }
  // Everything the transaction would have written fails alike. If the commit itself was cut off
  // its outcome is unknown: a retry with the same event ids is recognized.
  out.resize(batch.size(), Result<Placement>(st));
  for (auto& r : out) {
    if (r.ok()) r = st;
  }
  commit.numbered.clear();
  return commit;
}

Status PgAppender::TryCommit(std::span<const PendingAppend> batch, const std::optional<AppendCondition>* condition,
                             std::int64_t number_token, AppendCommit& commit) {
  // Sorted by stream, stably (cqrs_append inserts in that order; see its comment).
  std::vector<std::size_t> order(batch.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return batch[a].stream < batch[b].stream; });
  std::vector<std::string> a_stream, a_expected, a_count, c_id, c_type, c_schema, c_ts, c_corr, c_caus, c_meta,
      c_payload, t_event, t_tag;
  for (std::size_t i : order) {
    const PendingAppend& p = batch[i];
    a_stream.push_back(p.stream);
    a_expected.push_back(std::to_string(ExpectedCode(p.expected)));
    a_count.push_back(std::to_string(p.events.size()));
    for (const EventData& d : p.events) {
      c_id.push_back(d.event_id.ToString());
      c_type.push_back(d.type);
      c_schema.push_back(std::to_string(d.schema_version));
      c_ts.push_back(std::to_string(d.timestamp_us));
      c_corr.push_back(d.correlation_id.ToString());
      c_caus.push_back(d.causation_id.ToString());
      c_meta.push_back(pg_rows::ByteaHex(d.metadata));
      c_payload.push_back(pg_rows::ByteaHex(d.payload));
      for (const std::string& tag : d.tags) {
        t_event.push_back(std::to_string(c_id.size()));  // 1-based: this event's index
        t_tag.push_back(tag);
      }
    }
  }
  using pg::ArrayLiteral;
  std::vector<Param> params = {Param::Int(number_token),
                               Param::Int(kNumberAtMost),
                               Param::Text(ArrayLiteral(a_stream)),
                               Param::Text(ArrayLiteral(a_expected)),
                               Param::Text(ArrayLiteral(a_count)),
                               Param::Text(ArrayLiteral(c_id)),
                               Param::Text(ArrayLiteral(c_type)),
                               Param::Text(ArrayLiteral(c_schema)),
                               Param::Text(ArrayLiteral(c_ts)),
                               Param::Text(ArrayLiteral(c_corr)),
                               Param::Text(ArrayLiteral(c_caus)),
                               Param::Text(ArrayLiteral(c_meta)),
                               Param::Text(ArrayLiteral(c_payload)),
                               Param::Text(ArrayLiteral(t_event)),
                               Param::Text(ArrayLiteral(t_tag))};
  if (condition != nullptr) {
    // The query as parallel arrays (item number per tag and per type; cqrs_first_match).
    std::vector<std::string> qt_item, qt_tag, qy_item, qy_type;
    const std::vector<QueryItem> none;
    const std::vector<QueryItem>& items = condition->has_value() ? (*condition)->query.items : none;
    for (std::size_t i = 0; i < items.size(); ++i) {
      for (const std::string& t : items[i].tags) {
        qt_item.push_back(std::to_string(i + 1));
        qt_tag.push_back(t);
      }
      for (const std::string& t : items[i].types) {
        qy_item.push_back(std::to_string(i + 1));
        qy_type.push_back(t);
      }
    }
    params.push_back(Param::Int(static_cast<std::int64_t>(items.size())));
    params.push_back(Param::Text(ArrayLiteral(qt_item)));
    params.push_back(Param::Text(ArrayLiteral(qt_tag)));
    params.push_back(Param::Text(ArrayLiteral(qy_item)));
    params.push_back(Param::Text(ArrayLiteral(qy_type)));
    params.push_back(condition->has_value() ? Param::Int(static_cast<std::int64_t>((*condition)->after.value()))
                                            : Param::Null());
  }
  std::vector<pg::Statement> pipeline;
  pipeline.push_back(pg::Statement::Prepared(condition != nullptr ? "append_if" : "append", std::move(params)));
  ASSIGN_OR_RETURN(std::vector<pg::Rows> answers, conn_->Pipeline(pipeline));
  if (answers.size() != pipeline.size() || answers[0].empty()) {
    return Unavailable("postgres: the append did not answer");
  }
  const pg::Rows& r = answers[0];
  std::int64_t failed = 0;
  if (condition != nullptr) {
    failed = r.Int(0, 10);
    if (failed == 1) {
      const std::string at = r.IsNull(0, 14) ? "not numbered yet" : "position " + std::string(r.Text(0, 14));
      commit.refused =
          VersionConflict("append condition failed: event " + std::string(r.Text(0, 11)) + " (" +
                          std::string(r.Text(0, 13)) + ", stream " + std::string(r.Text(0, 12)) + ", " + at +
                          ") matches the query after position " + std::to_string((*condition)->after.value()));
      return Status::Ok();
    }
    if (failed == 3) {
      commit.refused =
          InvalidArgument("condition: position " + std::to_string((*condition)->after.value()) + " is past the head");
      return Status::Ok();
    }
  }
  const bool deposed = r.Text(0, 0) == "t";
  (void)deposed;  // a deposed leader's rows go in unnumbered: the sequencer numbers them
  commit.head = r.IsNull(0, 1) ? 0 : static_cast<std::uint64_t>(r.Int(0, 1));
  const std::vector<std::int64_t> seqs = pg_rows::ParseBigintArray(r.Text(0, 2));
  const std::vector<std::int64_t> positions = pg_rows::ParseBigintArray(r.Text(0, 3));
  for (std::size_t i = 0; i < seqs.size() && i < positions.size(); ++i) {
    commit.numbered.emplace_back(seqs[i], static_cast<std::uint64_t>(positions[i]));
  }
  commit.numbered_backlog = !commit.numbered.empty();
  const std::vector<std::int64_t> outcomes = pg_rows::ParseBigintArray(r.Text(0, 4));
  const std::vector<std::int64_t> versions = pg_rows::ParseBigintArray(r.Text(0, 5));
  const std::vector<std::int64_t> original_times = pg_rows::ParseBigintArray(r.Text(0, 6));
  const std::vector<std::string> original_metadata = ParseHexArray(r.Text(0, 7));
  const std::vector<std::int64_t> event_seqs = pg_rows::ParseBigintArray(r.Text(0, 8));
  const std::vector<std::int64_t> event_positions = pg_rows::ParseBigintArray(r.Text(0, 9));
  if (outcomes.size() != batch.size() || versions.size() != batch.size() || original_times.size() != batch.size() ||
      original_metadata.size() != batch.size() || event_seqs.size() != c_id.size() ||
      event_positions.size() != c_id.size()) {
    return Internal("postgres: cqrs_append answered ragged arrays");
  }
  std::vector<std::optional<Result<Placement>>> placed(batch.size());
  std::size_t k = 0;  // events before the append
  for (std::size_t n = 0; n < order.size(); ++n) {
    const PendingAppend& p = batch[order[n]];
    const auto v = static_cast<std::uint64_t>(versions[n]);
    switch (outcomes[n]) {
      case 0:
      case 1: {
        Placement pl;
        pl.first_version = StreamVersion(v);
        pl.idempotent_replay = outcomes[n] == 1;
        if (pl.idempotent_replay) pl.original = AppendResult::Original{original_times[n], original_metadata[n]};
        for (std::size_t e = 0; e < p.events.size(); ++e) {
          pl.seqs.push_back(event_seqs[k + e]);
          pl.positions.push_back(static_cast<std::uint64_t>(event_positions[k + e]));
          if (event_positions[k + e] > 0) commit.numbered.emplace_back(event_seqs[k + e], event_positions[k + e]);
        }
        placed[order[n]] = Result<Placement>(std::move(pl));
        break;
      }
      case 2:
        placed[order[n]] = Result<Placement>(VersionConflict(
            "stream " + p.stream + " is at version " + std::to_string(v) + ", expected " + p.expected.ToString()));
        break;
      default:
        placed[order[n]] = Result<Placement>(
            AlreadyExists("event " + p.events.front().event_id.ToString() +
                          " (or one after it) is already stored elsewhere or followed by different events"));
    }
    k += p.events.size();
  }
  for (auto& pl : placed) commit.appends.push_back(std::move(*pl));
  if (failed == 2 && std::all_of(commit.appends.begin(), commit.appends.end(), [](const auto& a) { return a.ok(); })) {
    // Rolled back because some appends were retries and others not: not one append's retry.
    for (auto& a : commit.appends) {
      a = AlreadyExists("some of the streams already hold these events and others do not: not a retry of one append");
    }
  }
  return Status::Ok();
}

}  // namespace cqrs
