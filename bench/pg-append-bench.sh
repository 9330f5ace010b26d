#!/usr/bin/env bash
# PostgreSQL event-store appends (bench/pg_append_bench) beside pgbench's single-row INSERTs, on
# the server directly and through bench/delay_proxy (1 ms each way, as a server one network hop
# away), in one run:
#
#   direct       pgbench INSERT (256-byte rows, synchronous_commit on), 1 and 8 clients;
#                appends from 1 × 1, 1 × 8 and 4 × 2 (store instances × appenders);
#   delay proxy  appends from 1 × 1, and from P = 1, 2, 4, 8 store instances × 8 appenders.
#
#   bench/pg-append-bench.sh [seconds per run, default 10] [OLD_PG_APPEND_BENCH]
#
# A store instance has its own connections, writers and sequencer candidate, as an adsd process
# has. Appends run with each numbering (PostgresStoreOptions::Numbering): `any` (an append that
# finds the head row free numbers, the default), `inline` (only the leading instance's
# transactions number) and `sequencer` (only the sequencer numbers, after commit). With a second
# argument, a pg_append_bench built from another commit, each append row runs with it too (its
# default numbering), side by side.
#
# Uses the PostgreSQL at $PG_URL if set, else starts one (scripts/servers/postgres.sh) and stops
# it. Prints a Markdown table, also written to build/bench/pg-append/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
old=${2:-}

cmake --preset ci > /dev/null
cmake --build --preset ci -j "$(nproc)" --target pg_append_bench delay_proxy > /dev/null

out=build/bench/pg-append
rm -rf "$out"
mkdir -p "$out"
pgbin=/usr/lib/postgresql/15/bin
proxy_pid=
cleanup() {
  [[ -n $proxy_pid ]] && kill "$proxy_pid" 2> /dev/null || true
  [[ -z ${PG_URL:-} ]] && scripts/servers/postgres.sh stop "$out/postgres" > /dev/null 2>&1 || true
}
trap cleanup EXIT
if [[ -z ${PG_URL:-} ]]; then
  scripts/servers/postgres.sh start "$out/postgres" > /dev/null
  pg=$(cat "$out/postgres/url")
else
  pg=$PG_URL
fi
fresh_db() { # a new database; its URL, through `host:port` if given
  local name=pgappend_$(date +%s%N)
  psql -q "$pg" -c "CREATE DATABASE $name" > /dev/null
  local url=${pg%/*}/$name
  [[ -n ${2:-} ]] && url=$(echo "$url" | sed "s#@[^/]*/#@$2/#")
  echo "$url"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
rows=()

hostport=${pg#*@}
hostport=${hostport%%/*}
build/ci/bench/delay_proxy --target "$hostport" --delay-ms 1 > "$out/proxy.out" &
proxy_pid=$!
for _ in $(seq 1 50); do grep -q listening "$out/proxy.out" 2> /dev/null && break; sleep 0.1; done
proxied=$(sed -n 's/^delay_proxy listening on //p' "$out/proxy.out")
echo "SELECT 1;" > "$out/select1.sql"
direct_rtt=$("$pgbin/pgbench" -n -c 1 -T 2 -f "$out/select1.sql" "$pg" 2>&1 | sed -n 's/^latency average = \([0-9.]*\).*/\1/p')
proxy_rtt=$("$pgbin/pgbench" -n -c 1 -T 2 -f "$out/select1.sql" "$(echo "$pg" | sed "s#@[^/]*/#@$proxied/#")" 2>&1 |
            sed -n 's/^latency average = \([0-9.]*\).*/\1/p')
rows+=("| SELECT 1 round trip, direct / through the delay proxy | $direct_rtt / $proxy_rtt ms | |")

pb=$(fresh_db)
psql -q "$pb" -c "CREATE TABLE t (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
echo "INSERT INTO t (payload) VALUES (decode(repeat('78', 256), 'hex'));" > "$out/insert.sql"
for c in 1 8; do
  tps=$("$pgbin/pgbench" -n -c "$c" -j "$c" -T "$seconds" -f "$out/insert.sql" "$pb" 2>&1 |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  rows+=("| pgbench single-row INSERT, $c client(s), direct | $(printf '%.0f' "$tps") per s | |")
done

run() { # label, processes, appenders, proxy (empty: direct), binary, extra args...
  local label=$1 p=$2 a=$3 via=$4 bin=$5
  shift 5
  local r
  r=$("$bin" --url "$(fresh_db x "$via")" --processes "$p" --appenders "$a" --seconds "$seconds" "$@")
  echo "$r" > "$out/$label-${via:+proxy-}$p-x-$a.json"
  local where=direct
  [[ -n $via ]] && where="delay proxy"
  rows+=("| appends, $p × $a, $where, $label | $(echo "$r" | json '["per_second"]') per s | p50 $(echo "$r" | json '["p50_us"]') µs, p99 $(echo "$r" | json '["p99_us"]') µs, mean batch $(echo "$r" | json '.get("mean_batch", "?")') |")
}
for cfg in "1 1 " "1 8 " "4 2 " "1 1 $proxied" "1 8 $proxied" "2 8 $proxied" "4 8 $proxied" "8 8 $proxied"; do
  read -r p a via <<< "$cfg"
  if [[ -n $old ]]; then run old "$p" "$a" "${via:-}" "$old"; fi
  run any "$p" "$a" "${via:-}" build/ci/bench/pg_append_bench --numbering any
  run inline "$p" "$a" "${via:-}" build/ci/bench/pg_append_bench --numbering inline
  run sequencer "$p" "$a" "${via:-}" build/ci/bench/pg_append_bench --numbering sequencer
done

{
  echo "| what ($seconds s runs) | rate | latency / notes |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
