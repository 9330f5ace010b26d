#include "cqrs/store/postgres_appender.h"

#include <algorithm>
#include <unordered_map>

#include "cqrs/store/postgres_rows.h"

namespace cqrs {

namespace {

using pg::Param;

// How often a batch is redone after losing a (stream, version) or event id race. Each redo reads
// the winners' rows, so a loser conflicts or moves on; this bounds a pathological storm.
constexpr int kAttempts = 16;

// Events an append transaction numbers at most (its own and the ones before them).
constexpr std::int64_t kNumberAtMost = 8192;

struct Placed {
  std::string stream;
  std::uint64_t version = 0;
  std::uint64_t position = 0;  // 0: not numbered yet
  std::int64_t seq = -1;       // -1: inserted by this batch, known after the insert
  TimestampUs timestamp_us = 0;
  std::string metadata;
};

// A retry of an append that already happened (its first event id is stored): where it is, or
// kAlreadyExists when the ids are stored elsewhere or followed by other events.
std::optional<Result<Placement>> CheckRetry(const PendingAppend& p,
                                            const std::unordered_map<Uuid, Placed>& placed) {
  bool any = false;
  for (const EventData& e : p.events) any = any || placed.count(e.event_id) > 0;
  if (!any) return std::nullopt;
  const auto first = placed.find(p.events.front().event_id);
  bool same = first != placed.end() && first->second.stream == p.stream;
  for (std::size_t k = 0; same && k < p.events.size(); ++k) {
    const auto it = placed.find(p.events[k].event_id);
    same = it != placed.end() && it->second.stream == p.stream && it->second.version == first->second.version + k;
  }
  if (!same) {
    return Result<Placement>(AlreadyExists("event " + p.events.front().event_id.ToString() +
                                           " (or one after it) is already stored elsewhere or followed by "
                                           "different events"));
  }
  Placement r;
  r.first_version = StreamVersion(first->second.version);
  r.idempotent_replay = true;
  r.original = AppendResult::Original{first->second.timestamp_us, first->second.metadata};
  for (const EventData& e : p.events) {
    const Placed& at = placed.at(e.event_id);
    r.seqs.push_back(at.seq);
    r.positions.push_back(at.position);
  }
  return Result<Placement>(std::move(r));
}

// A row to insert, with the append it belongs to.
struct NewRow {
  const EventData* data;
  const std::string* stream;
  std::uint64_t version;
};

}  // namespace

PgAppender::PgAppender(std::string url, std::string head_channel, std::string wake_channel)
    : url_(std::move(url)), head_channel_(std::move(head_channel)), wake_channel_(std::move(wake_channel)) {}

Status PgAppender::Connect() {
  if (conn_ && conn_->healthy() && prepared_) return Status::Ok();
  prepared_ = false;
  if (!conn_) {
    ASSIGN_OR_RETURN(conn_, pg::Connection::Open(url_));
  } else if (!conn_->healthy()) {
    RETURN_IF_ERROR(conn_->Reconnect());
  }
  // Each stream's version by a backward index scan (max() over a long stream would read it all).
  // Unnumbered rows count: they are committed.
  RETURN_IF_ERROR(conn_->Prepare(
      "versions",
      "SELECT s.stream, (SELECT e.version FROM events e WHERE e.stream = s.stream ORDER BY e.version DESC LIMIT 1) "
      "FROM unnest($1::text[]) AS s(stream)"));
  RETURN_IF_ERROR(conn_->Prepare(
      "placed",
      "SELECT event_id, stream, version, position, seq, timestamp_us, metadata FROM events WHERE event_id = ANY($1::uuid[])"));
  RETURN_IF_ERROR(conn_->Prepare(
      "insert",
      "INSERT INTO events (stream, version, event_id, type, schema_version, timestamp_us, correlation_id, "
      "causation_id, metadata, payload) SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], "
      "$5::int[], $6::bigint[], $7::uuid[], $8::uuid[], $9::bytea[], $10::bytea[]) RETURNING event_id, seq"));
  RETURN_IF_ERROR(conn_->Prepare(
      "append_numbered",
      "SELECT deposed, head, seqs, positions, own_ids, own_seqs, own_positions FROM cqrs_append_batch($1, $2, "
      "$3::text[], $4::bigint[], $5::uuid[], $6::text[], $7::int[], $8::bigint[], $9::uuid[], $10::uuid[], "
      "$11::bytea[], $12::bytea[])"));
  prepared_ = true;
  return Status::Ok();
}

AppendCommit PgAppender::Commit(std::span<const PendingAppend> batch, std::int64_t number_token) {
  AppendCommit commit;
  std::vector<Result<Placement>>& out = commit.appends;
  Status st = Connect();
  for (int attempt = 0; st.ok() && attempt < kAttempts; ++attempt) {
    commit = AppendCommit{};
    st = TryCommit(batch, number_token, commit);
    if (st.ok()) return commit;
    (void)conn_->Exec("ROLLBACK");
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

Status PgAppender::TryCommit(std::span<const PendingAppend> batch, std::int64_t number_token, AppendCommit& commit) {
  std::vector<Result<Placement>>& out = commit.appends;
  std::vector<std::string> streams, ids;
  for (const PendingAppend& p : batch) {
    streams.push_back(p.stream);
    for (const EventData& e : p.events) ids.push_back(e.event_id.ToString());
  }
  ASSIGN_OR_RETURN(std::vector<pg::Rows> read,
                   conn_->Pipeline({
                       {"BEGIN"},
                       pg::Statement::Prepared("versions", {Param::Text(pg::ArrayLiteral(streams))}),
                       pg::Statement::Prepared("placed", {Param::Text(pg::ArrayLiteral(ids))}),
                   }));
  if (read.size() != 3) return Unavailable("postgres: a pipeline answered " + std::to_string(read.size()) + " of 3");
  std::unordered_map<std::string, std::uint64_t> versions;
  for (int i = 0; i < read[1].size(); ++i) {
    if (!read[1].IsNull(i, 1)) versions[std::string(read[1].Text(i, 0))] = static_cast<std::uint64_t>(read[1].Int(i, 1));
  }
  std::unordered_map<Uuid, Placed> placed;  // every id already stored, or placed by this batch
  for (int i = 0; i < read[2].size(); ++i) {
    placed[pg_rows::ParseUuid(read[2].Text(i, 0))] = {
        std::string(read[2].Text(i, 1)), static_cast<std::uint64_t>(read[2].Int(i, 2)),
        read[2].IsNull(i, 3) ? 0 : static_cast<std::uint64_t>(read[2].Int(i, 3)), read[2].Int(i, 4),
        read[2].Int(i, 5), read[2].Bytes(i, 6)};
  }

  std::vector<NewRow> rows;
  for (const PendingAppend& p : batch) {
    if (auto retry = CheckRetry(p, placed)) {
      out.push_back(std::move(*retry));
      continue;
    }
    const std::uint64_t current = versions.count(p.stream) ? versions[p.stream] : 0;
    if (!p.expected.IsSatisfiedBy(StreamVersion(current))) {
      out.push_back(VersionConflict("stream " + p.stream + " is at version " + std::to_string(current) +
                                    ", expected " + p.expected.ToString()));
      continue;
    }
    Placement r;
    r.first_version = StreamVersion(current + 1);
    for (std::size_t k = 0; k < p.events.size(); ++k) {
      rows.push_back({&p.events[k], &p.stream, current + k + 1});
      placed[p.events[k].event_id] = {p.stream, current + k + 1, 0, -1, p.events[k].timestamp_us, p.events[k].metadata};
      r.seqs.push_back(-1);
      r.positions.push_back(0);
    }
    versions[p.stream] = current + p.events.size();
    out.push_back(std::move(r));
  }
  if (rows.empty()) return conn_->Exec("ROLLBACK");

  std::sort(rows.begin(), rows.end(), [](const NewRow& a, const NewRow& b) {
    return std::tie(*a.stream, a.version) < std::tie(*b.stream, b.version);
  });
  std::vector<std::string> c_stream, c_ver, c_id, c_type, c_schema, c_ts, c_corr, c_caus, c_meta, c_payload;
  for (const NewRow& row : rows) {
    const EventData& d = *row.data;
    c_stream.push_back(*row.stream);
    c_ver.push_back(std::to_string(row.version));
    c_id.push_back(d.event_id.ToString());
    c_type.push_back(d.type);
    c_schema.push_back(std::to_string(d.schema_version));
    c_ts.push_back(std::to_string(d.timestamp_us));
    c_corr.push_back(d.correlation_id.ToString());
    c_caus.push_back(d.causation_id.ToString());
    c_meta.push_back(pg_rows::ByteaHex(d.metadata));
    c_payload.push_back(pg_rows::ByteaHex(d.payload));
  }
  using pg::ArrayLiteral;
  std::vector<Param> columns = {
      Param::Text(ArrayLiteral(c_stream)), Param::Text(ArrayLiteral(c_ver)),  Param::Text(ArrayLiteral(c_id)),
      Param::Text(ArrayLiteral(c_type)),   Param::Text(ArrayLiteral(c_schema)), Param::Text(ArrayLiteral(c_ts)),
      Param::Text(ArrayLiteral(c_corr)),   Param::Text(ArrayLiteral(c_caus)), Param::Text(ArrayLiteral(c_meta)),
      Param::Text(ArrayLiteral(c_payload))};
  std::vector<pg::Statement> write;
  if (number_token != 0) {
    columns.insert(columns.begin(), {Param::Int(number_token), Param::Int(kNumberAtMost)});
    write.push_back(pg::Statement::Prepared("append_numbered", std::move(columns)));
    write.emplace_back("COMMIT");
    pg_rows::AddNotify(write, pg::Statement("SELECT pg_notify($1, position::text) FROM log_head WHERE id = 1",
                                            {Param::Text(head_channel_)}));
  } else {
    write.push_back(pg::Statement::Prepared("insert", std::move(columns)));
    write.emplace_back("COMMIT");
    pg_rows::AddNotify(write, pg::Statement("SELECT pg_notify($1, '')", {Param::Text(wake_channel_)}));
  }
  ASSIGN_OR_RETURN(std::vector<pg::Rows> wrote, conn_->Pipeline(write));
  if (wrote.size() != write.size()) return Unavailable("postgres: the insert did not answer");
  // This batch's events: id -> (seq, position or 0).
  std::unordered_map<Uuid, std::pair<std::int64_t, std::uint64_t>> stored;
  if (number_token != 0) {
    const pg::Rows& r = wrote[0];
    if (r.empty()) return Internal("postgres: cqrs_append_batch answered no row");
    const std::vector<std::int64_t> seqs = pg_rows::ParseBigintArray(r.Text(0, 2));
    const std::vector<std::int64_t> positions = pg_rows::ParseBigintArray(r.Text(0, 3));
    for (std::size_t i = 0; i < seqs.size() && i < positions.size(); ++i) {
      commit.numbered.emplace_back(seqs[i], static_cast<std::uint64_t>(positions[i]));
    }
    const std::vector<Uuid> own_ids = pg_rows::ParseUuidArray(r.Text(0, 4));
    const std::vector<std::int64_t> own_seqs = pg_rows::ParseBigintArray(r.Text(0, 5));
    const std::vector<std::int64_t> own_positions = pg_rows::ParseBigintArray(r.Text(0, 6));
    if (own_ids.size() != own_seqs.size() || own_ids.size() != own_positions.size()) {
      return Internal("postgres: cqrs_append_batch answered ragged arrays");
    }
    for (std::size_t i = 0; i < own_ids.size(); ++i) {
      stored[own_ids[i]] = {own_seqs[i], static_cast<std::uint64_t>(own_positions[i])};
      if (own_positions[i] > 0) commit.numbered.emplace_back(own_seqs[i], static_cast<std::uint64_t>(own_positions[i]));
    }
    commit.head = static_cast<std::uint64_t>(r.Int(0, 1));
  } else {
    for (int i = 0; i < wrote[0].size(); ++i) stored[pg_rows::ParseUuid(wrote[0].Text(i, 0))] = {wrote[0].Int(i, 1), 0};
  }
  // Fill in this batch's rows (new appends, and replays of them within the batch).
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!out[i].ok()) continue;
    for (std::size_t k = 0; k < out[i]->seqs.size(); ++k) {
      if (out[i]->seqs[k] >= 0) continue;
      const auto it = stored.find(batch[i].events[k].event_id);
      if (it == stored.end()) return Internal("postgres: an inserted event did not come back from the insert");
      out[i]->seqs[k] = it->second.first;
      out[i]->positions[k] = it->second.second;
    }
  }
  return Status::Ok();
}

}  // namespace cqrs
