#!/usr/bin/env bash
# A worker process draining a backlog on PostgreSQL + Kafka, this build beside another one, in
# one run on one pair of servers: the worker tier's bound, compared where only the binary differs.
#
#   bench/worker-drain.sh OLD_ADSD [seconds of POST load, default 10] [rounds, default 2]
#
# Per round and binary (alternated): a fresh database and topic; a write process of that binary
# takes `wrk -t2 -c64` POST /v1/ads for the given seconds (the optimized pipeline: published to
# Kafka, not stored); it stops; then a worker process of the same binary (`--consumers 32`) starts
# and stores and decides every acknowledged ad; the rate is ads / (last verdict − worker start).
# Both tiers use one binary because a store migrates its schema and an older binary refuses a
# newer schema. Starts its own PostgreSQL and Kafka (scripts/servers) and stops them. Prints a
# Markdown table, also written to build/bench/worker-drain/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/worker-drain.sh OLD_ADSD [seconds] [rounds]}
seconds=${2:-10}
rounds=${3:-2}
new=build/ci/app/adsd/adsd

./scripts/install-deps.sh --bench --servers > /dev/null
cmake --preset ci > /dev/null
cmake --build --preset ci -j "$(nproc)" --target adsd > /dev/null

out=build/bench/worker-drain
rm -rf "$out"
mkdir -p "$out"
servers=$out/servers
pids=()
source bench/adsd-processes.sh
cleanup() { stop_all "$servers"; }
trap cleanup EXIT
scripts/servers/test-servers.sh start "$servers" > /dev/null
pg=$(cat "$servers/postgres/url")
kafka=$(cat "$servers/kafka/bootstrap")
token=bench-token-0123456789abcdef
keys=$out/keys.toml
printf '[[key]]\ntoken = "%s"\nretailer = "bench"\nunlimited = true\n' "$token" > "$keys"

decided_in() { # database
  psql -At "$1" -c "SELECT count(*) FROM events WHERE type IN ('AdApproved', 'AdRejected')"
}

rows=()
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    bin=$old
    [[ $which == new ]] && bin=$new
    name=$which-$round
    psql -q "$pg" -c "CREATE DATABASE drain_${which}_$round" > /dev/null
    db=${pg%/*}/drain_${which}_$round
    bus="kafka://$kafka?partitions=8&topic=drain-$which-$round"
    port=$(run_adsd_binary "$bin" "$name-write" --role write --store "$db" --bus "$bus")
    pids+=("$(cat "$out/$name-write/pid")")
    ADSD_TOKEN=$token ADSD_WRK_DIR=bench/wrk wrk -t2 -c64 -d"${seconds}s" --timeout 30s -s bench/wrk/post_ad.lua \
      "http://127.0.0.1:$port" > /dev/null
    backlog=$(acknowledged_by "$port")
    stop_pid "${pids[-1]}"
    t0=$(date +%s.%N)
    run_adsd_binary "$bin" "$name-worker" --role worker --consumers 32 --store "$db" --bus "$bus" > /dev/null
    pids+=("$(cat "$out/$name-worker/pid")")
    for _ in $(seq 1 2400); do
      [[ $(decided_in "$db") -ge $backlog ]] && break
      sleep 0.25
    done
    t1=$(date +%s.%N)
    stop_pid "${pids[-1]}"
    rows+=("| $round | $which | $backlog | $(python3 -c "print(round($t1 - $t0, 1))") s | $(python3 -c "print(round($backlog / ($t1 - $t0)))") ads/s |")
  done
done
{
  echo "| round | binary | ads in the backlog | drained in (worker start included) | stored and decided |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
