#!/usr/bin/env bash
# What one cqrs_append call costs the server, measured with pgbench on the store's own schema
# (bench/pg-models/append-*.sql), apart from adsd's client, writer and NOTIFYs:
#
#   one session, synchronous_commit off (the statement's CPU, no flush): the arguments alone
#   (args-only.sql, the baseline), one append (append-1.sql), a batch of six (append-6.sql);
#   eight sessions, synchronous_commit on, one append each: numbered if the head row is free (the
#   store's way: SKIP LOCKED), beside the same function waiting for the row (FOR UPDATE).
#
#   bench/pg-append-cost.sh [seconds per run, default 5] [OLD_PG_APPEND_BENCH]
#
# With a second argument (a pg_append_bench built from another commit; it must have cqrs_append),
# each row runs on a database migrated by that build too, side by side. Uses the PostgreSQL at
# $PG_URL if set, else starts one (scripts/servers/postgres.sh) and stops it. Prints a Markdown
# table, also written to build/bench/pg-append-cost/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
old=${2:-}

cmake --preset ci > /dev/null
cmake --build --preset ci -j "$(nproc)" --target pg_append_bench > /dev/null

out=build/bench/pg-append-cost
rm -rf "$out"
mkdir -p "$out"
pgbin=/usr/lib/postgresql/15/bin
cleanup() { [[ -z ${PG_URL:-} ]] && scripts/servers/postgres.sh stop "$out/postgres" > /dev/null 2>&1 || true; }
trap cleanup EXIT
if [[ -z ${PG_URL:-} ]]; then
  scripts/servers/postgres.sh start "$out/postgres" > /dev/null
  pg=$(cat "$out/postgres/url")
else
  pg=$PG_URL
fi
migrated_db() { # a new database with the schema of the given pg_append_bench; its URL
  local name=pgcost_$(date +%s%N)
  psql -q "$pg" -c "CREATE DATABASE $name" > /dev/null
  local url=${pg%/*}/$name
  "$1" --url "$url" --processes 1 --appenders 1 --seconds 0.2 > /dev/null  # migrates, appends a few
  # The same function waiting for the head row instead of skipping it, for the comparison only.
  psql -Atq "$url" -c "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = 'cqrs_append'" |
    sed -e 's/FUNCTION public\.cqrs_append(/FUNCTION public.cqrs_append_waiting(/' \
        -e 's/FOR UPDATE SKIP LOCKED/FOR UPDATE/' > "$out/waiting.sql"
  psql -q "$url" -f "$out/waiting.sql" > /dev/null
  echo "$url"
}
latency() { # url, clients, synchronous_commit, script: mean latency in ms
  PGOPTIONS="-c synchronous_commit=$3" "$pgbin/pgbench" -n -c "$2" -j "$2" -T "$seconds" -f "$4" "$1" 2>&1 |
    sed -n 's/^latency average = \([0-9.]*\).*/\1/p'
}
tps() { # url, clients, synchronous_commit, script
  PGOPTIONS="-c synchronous_commit=$3" "$pgbin/pgbench" -n -c "$2" -j "$2" -T "$seconds" -f "$4" "$1" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' | xargs printf '%.0f'
}
sed 's/cqrs_append(/cqrs_append_waiting(/' bench/pg-models/append-1.sql > "$out/append-1-waiting.sql"
builds=(build/ci/bench/pg_append_bench)
[[ -n $old ]] && builds+=("$old")
declare -A url
for b in "${builds[@]}"; do url[$b]=$(migrated_db "$b"); done
cell() { # the row's figure for each build, "new / old"
  local f=$1 args=("${@:2}") v=()
  for b in "${builds[@]}"; do v+=("$("$f" "${url[$b]}" "${args[@]}")"); done
  local IFS=/
  echo "${v[*]}"
}
rows=()
rows+=("| one session, synchronous_commit off: the arguments alone (baseline), ms | $(cell latency 1 off bench/pg-models/args-only.sql) |")
rows+=("| one session, synchronous_commit off: one append, ms | $(cell latency 1 off bench/pg-models/append-1.sql) |")
rows+=("| one session, synchronous_commit off: a batch of six appends, ms | $(cell latency 1 off bench/pg-models/append-6.sql) |")
rows+=("| 8 sessions, one append each: numbered if the head is free (SKIP LOCKED), per s | $(cell tps 8 on bench/pg-models/append-1.sql) |")
rows+=("| 8 sessions, one append each: waiting for the head row (FOR UPDATE), per s | $(cell tps 8 on "$out/append-1-waiting.sql") |")
{
  echo "| what | this build$([[ -n $old ]] && echo ' / old') |"
  echo "|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
