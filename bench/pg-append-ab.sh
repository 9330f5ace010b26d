#!/usr/bin/env bash
# Two builds of bench/pg_append_bench alternated on one PostgreSQL, run by run, so that a noisy
# machine's drift falls on both alike: the side-by-side comparison of a change.
#
#   bench/pg-append-ab.sh OLD NEW [seconds per run, default 5] [rounds, default 2] [P×N ...]
#
# OLD and NEW are pg_append_bench binaries (e.g. one built from the previous commit in a
# worktree, and build/ci/bench/pg_append_bench); each P×N (default 1x1 1x8 4x2: store instances ×
# blocking appenders) runs `rounds` times as old, new, old, new..., each on a fresh database, with
# each binary's default numbering. Uses the PostgreSQL at $PG_URL if set, else starts one
# (scripts/servers/postgres.sh) and stops it. Prints one line per run: config, build, appends/s,
# p50 and p99 in µs, mean batch.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?OLD pg_append_bench}
new=${2:?NEW pg_append_bench}
seconds=${3:-5}
rounds=${4:-2}
shift $(($# < 4 ? $# : 4))
configs=("$@")
[[ ${#configs[@]} -gt 0 ]] || configs=(1x1 1x8 4x2)

out=build/bench/pg-append-ab
mkdir -p "$out"
cleanup() { [[ -z ${PG_URL:-} ]] && scripts/servers/postgres.sh stop "$out/postgres" > /dev/null 2>&1 || true; }
trap cleanup EXIT
if [[ -z ${PG_URL:-} ]]; then
  scripts/servers/postgres.sh start "$out/postgres" > /dev/null
  pg=$(cat "$out/postgres/url")
else
  pg=$PG_URL
fi
for cfg in "${configs[@]}"; do
  p=${cfg%x*}
  a=${cfg#*x}
  for _ in $(seq 1 "$rounds"); do
    for build in old new; do
      bin=$old
      [[ $build == new ]] && bin=$new
      db=pgab_$(date +%s%N)
      psql -q "$pg" -c "CREATE DATABASE $db"
      r=$("$bin" --url "${pg%/*}/$db" --processes "$p" --appenders "$a" --seconds "$seconds")
      echo "$cfg $build $(echo "$r" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["per_second"]), d["p50_us"], d["p99_us"], d.get("mean_batch", "?"))')"
      psql -q "$pg" -c "DROP DATABASE $db"
    done
  done
done
