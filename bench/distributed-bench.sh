#!/usr/bin/env bash
# The distributed backends measured beside their own tools, in one run on one machine:
#
#   PostgreSQL  event-store appends (bench/pg_append_bench) beside pgbench's single-row INSERTs
#               (256-byte rows, synchronous_commit on), 1 and 8 clients, and appends from 1-8
#               processes through a 1 ms delay proxy (bench/pg-append-bench.sh);
#   Kafka       the broker's own ProducerPerformance (acks=all, idempotent, 450-byte records)
#               beside adsd in Kafka mode, a write process and a worker process (POST /v1/ads with
#               wrk, 64 connections, on the optimized pipeline: published to Kafka first; then
#               every acknowledged ad stored and decided end to end, 32 lanes), beside adsd on the
#               embedded log under the same wrk (each POST run after a 3-s warm-up run);
#   Read side   the ads read model in SQLite (a read process's own) beside PostgreSQL (--read-db,
#               shared by read processes), on the events the Kafka-mode run wrote: catching up
#               from empty (the live runner), a rebuild, and GET /v1/ads/{id} with wrk.
#
#   bench/distributed-bench.sh [seconds per run, default 10]
#
# Starts its own PostgreSQL and Kafka (scripts/servers) and stops them. Prints a Markdown table,
# also written to build/bench/distributed/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}

./scripts/install-deps.sh --bench --servers > /dev/null
cmake --preset ci > /dev/null
cmake --build --preset ci -j "$(nproc)" --target adsd pg_append_bench > /dev/null

out=build/bench/distributed
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
pgbin=/usr/lib/postgresql/15/bin
fresh_db() { # a new database; its URL
  psql -q "$pg" -c "CREATE DATABASE $1" > /dev/null
  echo "${pg%/*}/$1"
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
rows=()
row() { # one line of the table, also kept as it comes (a run that fails later keeps what it measured)
  rows+=("$1")
  echo "$1" >> "$out/rows.md"
}

# --- PostgreSQL: pgbench single-row INSERTs beside event-store appends, direct and through a
# delay proxy (bench/pg-append-bench.sh; set OLD_PG_APPEND_BENCH to a pg_append_bench built from
# another commit to run it side by side) ---
PG_URL=$pg bench/pg-append-bench.sh "$seconds" "${OLD_PG_APPEND_BENCH:-}" > /dev/null
while IFS= read -r line; do row "$line"; done < <(tail -n +3 build/bench/pg-append/results.md)

# --- Kafka: the broker's own producer benchmark ---
pp=$(java -cp "build/kafka/libs/*" org.apache.kafka.tools.ProducerPerformance --topic perf --num-records 300000 \
       --record-size 450 --throughput -1 \
       --producer-props bootstrap.servers="$kafka" acks=all enable.idempotence=true 2>/dev/null | tail -n 1)
echo "$pp" > "$out/producer-performance.txt"
row "| Kafka ProducerPerformance (acks=all, idempotent, 450 B) | $(echo "$pp" | sed -n 's/.* \([0-9.]*\) records\/sec.*/\1/p' | xargs printf '%.0f') records per s | $(echo "$pp" | sed -n 's/.*records\/sec (\([^)]*\)).*/\1/p') |"

# --- adsd: Kafka mode beside the embedded log, under the same wrk ---
token=bench-token-0123456789abcdef
admin=bench-admin-0123456789abcdef
printf '[[key]]\ntoken = "%s"\nretailer = "bench"\nunlimited = true\n[[key]]\ntoken = "%s"\nrole = "admin"\n' "$token" "$admin" \
  > "$out/keys.toml"
keys=$out/keys.toml
run_adsd() { run_adsd_binary build/ci/app/adsd/adsd "$@"; }  # name, extra args...; prints the port
wrk_post() { # port; prints the WRK_JSON object of a measured run after a warm-up run
  # The warm-up (3 s, same load, not measured) takes what is paid once per process and topic: the
  # first connections, a new topic's first seconds, the caches. Every process gets the same one.
  ADSD_TOKEN=$token ADSD_WRK_DIR=bench/wrk wrk -t2 -c64 -d3s --timeout 30s -s bench/wrk/post_ad.lua \
    "http://127.0.0.1:$1" > /dev/null
  ADSD_TOKEN=$token ADSD_WRK_DIR=bench/wrk wrk -t2 -c64 -d"${seconds}s" --timeout 30s -s bench/wrk/post_ad.lua \
    "http://127.0.0.1:$1" | sed -n 's/^WRK_JSON //p'
}
embedded_port=$(run_adsd embedded --consumers 4)
pids+=("$(cat "$out/embedded/pid")")
w=$(wrk_post "$embedded_port")
row "| adsd on the embedded log: POST /v1/ads (async, 64 conns) | $(echo "$w" | json '["requests"]/'"$seconds"' ' | xargs printf '%.0f') per s | p99 $(echo "$w" | json '["p99_ms"]') ms |"
stop_pid "${pids[-1]}"

# Split as deployed: write processes (the optimized pipeline: publish to Kafka, answer on the
# acknowledgement) and worker processes (store, judge, store the verdict). Each tier alone
# first (its own bound), then both at once on one database and topic.
count_events() { # database, SQL condition on type
  psql -At "$1" -c "SELECT count(*) FROM events WHERE $2"
}
wait_decided() { # database, acknowledged: until every acknowledged ad is stored and decided
  for _ in $(seq 1 2400); do
    submitted=$(count_events "$1" "type = 'AdSubmitted'")
    decided=$(count_events "$1" "type IN ('AdApproved', 'AdRejected')")
    [[ $submitted -ge $2 && $decided -ge $submitted ]] && return
    sleep 0.25
  done
}

adb=$(fresh_db kafkaalone)
abus="kafka://$kafka?partitions=8&topic=bench-alone"
alone_port=$(run_adsd kafka-write-alone --role write --store "$adb" --bus "$abus")
pids+=("$(cat "$out/kafka-write-alone/pid")")
w=$(wrk_post "$alone_port")
row "| adsd on PostgreSQL + Kafka: POST /v1/ads, a write process alone (async: publish first, 64 conns) | $(echo "$w" | json '["requests"]/'"$seconds"' ' | xargs printf '%.0f') per s | p99 $(echo "$w" | json '["p99_ms"]') ms |"
backlog=$(acknowledged_by "$alone_port")
stop_pid "${pids[-1]}"
t0=$(date +%s.%N)
run_adsd kafka-worker-alone --role worker --consumers 32 --store "$adb" --bus "$abus" > /dev/null
pids+=("$(cat "$out/kafka-worker-alone/pid")")
wait_decided "$adb" "$backlog"
t1=$(date +%s.%N)
stop_pid "${pids[-1]}"
row "| adsd on PostgreSQL + Kafka: a worker process alone drains that backlog (stored and decided, 32 lanes) | $(python3 -c "print(round($backlog / ($t1 - $t0)))") per s | $backlog ads in $(python3 -c "print(round($t1 - $t0, 1))") s, worker start included |"

kdb=$(fresh_db kafkamode)
kbus="kafka://$kafka?partitions=8&topic=bench"
kafka_port=$(run_adsd kafka-write --role write --store "$kdb" --bus "$kbus")
pids+=("$(cat "$out/kafka-write/pid")")
run_adsd kafka-worker --role worker --consumers 32 --store "$kdb" --bus "$kbus" > /dev/null
pids+=("$(cat "$out/kafka-worker/pid")")
w=$(wrk_post "$kafka_port")
row "| adsd on PostgreSQL + Kafka: POST /v1/ads, write and worker processes at once (64 conns) | $(echo "$w" | json '["requests"]/'"$seconds"' ' | xargs printf '%.0f') per s | p99 $(echo "$w" | json '["p99_ms"]') ms |"
# End to end: every acknowledged ad stored and decided; the rate from the first submission to
# the last verdict.
wait_decided "$kdb" "$(acknowledged_by "$kafka_port")"
span=$(psql -At "$kdb" -c "SELECT (max(timestamp_us) - min(timestamp_us)) / 1e6 FROM events")
row "| adsd on PostgreSQL + Kafka: submitted and decided end to end (write and worker processes at once) | $(python3 -c "print(round($submitted / $span))") per s | $submitted ads in $(printf '%.1f' "$span") s |"
stop_pid "${pids[-1]}"
stop_pid "${pids[-2]}"

# --- The read side: SQLite beside PostgreSQL, on the same log ---
head=$(psql -At "$kdb" -c "SELECT position FROM log_head")
psql -At "$kdb" -c "SELECT substring(stream from 4) FROM events WHERE type = 'AdSubmitted' LIMIT 20000" > "$out/ids"
rdb=$(fresh_db readmodel)
for model in sqlite postgresql; do
  extra=()
  [[ $model == postgresql ]] && extra=(--read-db "$rdb")
  t0=$(date +%s.%N)
  port=$(run_adsd "read-$model" --role read --store "$kdb" "${extra[@]}")
  pids+=("$(cat "$out/read-$model/pid")")
  for _ in $(seq 1 1200); do
    at=$(curl -s "http://127.0.0.1:$port/readyz" | json '["projection_position"]')
    [[ $at -ge $head ]] && break
    sleep 0.05
  done
  t1=$(date +%s.%N)
  row "| read model in $model: catch up from empty (process start included) | $(python3 -c "print(round($head / ($t1 - $t0)))") events per s | $head events in $(python3 -c "print(round($t1 - $t0, 2))") s |"
  r=$(curl -s -X POST -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/v1/admin/rebuild")
  row "| read model in $model: rebuild | $(echo "$r" | json '["events"] / '"$(echo "$r" | json '["seconds"]')" | xargs printf '%.0f') events per s | $(echo "$r" | json '["events"]') events in $(echo "$r" | json '["seconds"]' | xargs printf '%.2f') s |"
  w=$(ADSD_TOKEN=$token ADSD_IDS_FILE=$out/ids ADSD_WRK_DIR=bench/wrk wrk -t2 -c64 -d"${seconds}s" --timeout 30s \
        -s bench/wrk/get_ad.lua "http://127.0.0.1:$port" | sed -n 's/^WRK_JSON //p')
  row "| read model in $model: GET /v1/ads/{id} (64 conns) | $(echo "$w" | json '["requests"]/'"$seconds"' ' | xargs printf '%.0f') per s | p99 $(echo "$w" | json '["p99_ms"]') ms, $(echo "$w" | python3 -c "import json,sys; print(sum(json.load(sys.stdin)['errors'].values()))") errors |"
  stop_pid "${pids[-1]}"
done

{
  echo "| what ($seconds s runs) | rate | latency / notes |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
