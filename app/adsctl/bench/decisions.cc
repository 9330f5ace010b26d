#include "app/adsctl/bench/decisions.h"

#include <algorithm>

#include "cqrs/sql/sqlite.h"

namespace adsd::bench {

cqrs::Result<Decisions> Decisions::Read(const std::filesystem::path& read_db) {
  ASSIGN_OR_RETURN(auto db, cqrs::sql::Database::Open(read_db, {.read_only = true}));
  ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT created_us, decided_us FROM ads"));
  Decisions d;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    const std::int64_t created = q.Int(0);
    const std::int64_t decided = q.IsNull(1) ? -1 : q.Int(1);
    d.created_.push_back(created);
    if (decided >= 0) d.decided_.push_back(decided);
    d.pairs_.emplace_back(created, decided);
  }
  std::sort(d.created_.begin(), d.created_.end());
  std::sort(d.decided_.begin(), d.decided_.end());
  return d;
}

namespace {
std::int64_t CountIn(const std::vector<std::int64_t>& sorted, std::int64_t from, std::int64_t to) {
  return std::lower_bound(sorted.begin(), sorted.end(), to) - std::lower_bound(sorted.begin(), sorted.end(), from);
}
std::int64_t CountUpTo(const std::vector<std::int64_t>& sorted, std::int64_t t) {
  return std::upper_bound(sorted.begin(), sorted.end(), t) - sorted.begin();
}
}  // namespace

std::int64_t Decisions::AcceptedIn(std::int64_t from_us, std::int64_t to_us) const {
  return CountIn(created_, from_us, to_us);
}
std::int64_t Decisions::DecidedIn(std::int64_t from_us, std::int64_t to_us) const {
  return CountIn(decided_, from_us, to_us);
}

std::vector<BacklogPoint> Decisions::Backlog(std::int64_t from_us, std::int64_t to_us, double step_s,
                                             double lead_s) const {
  std::vector<BacklogPoint> out;
  const auto step = static_cast<std::int64_t>(step_s * 1e6);
  for (std::int64_t t = from_us - static_cast<std::int64_t>(lead_s * 1e6); t <= to_us; t += step) {
    out.push_back({static_cast<double>(t - from_us) / 1e6, CountUpTo(created_, t) - CountUpTo(decided_, t)});
  }
  return out;
}

double Decisions::BacklogSlope(std::int64_t from_us, std::int64_t to_us) const {
  const auto points = Backlog(from_us, to_us, 0.1, 0);
  if (points.size() < 2) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& p : points) {
    sx += p.t_s;
    sy += static_cast<double>(p.ads);
    sxx += p.t_s * p.t_s;
    sxy += p.t_s * static_cast<double>(p.ads);
  }
  const double n = static_cast<double>(points.size());
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

std::vector<double> Decisions::DecisionMs(std::int64_t from_us, std::int64_t to_us) const {
  std::vector<double> out;
  for (const auto& [created, decided] : pairs_) {
    if (created >= from_us && created < to_us && decided >= 0)
      out.push_back(static_cast<double>(decided - created) / 1e3);
  }
  return out;
}

}  // namespace adsd::bench
