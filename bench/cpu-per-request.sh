#!/usr/bin/env bash
# Where a request's CPU goes: starts adsd (async pipeline) in a scratch directory, drives it with
# wrk for a while, and prints the CPU each of its threads used per answered request (from
# /proc/PID/task/*/stat, by thread name: http-io, log-writer, subscription, lane, ...).
#
#   bench/cpu-per-request.sh [post|get] [seconds, default 8] [connections, default 64]
#
# Needs a built tree (build/default) and wrk (scripts/install-deps.sh --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-post}
seconds=${2:-8}
connections=${3:-64}
adsd=build/default/app/adsd/adsd

work=$(mktemp -d)
cat > "$work/keys.toml" <<KEYS
[[key]]
token = "cpu-bench-token-0123456789abcdef"
retailer = "bench"
unlimited = true
KEYS
export ADSD_TOKEN=cpu-bench-token-0123456789abcdef ADSD_WRK_DIR=$PWD/bench/wrk
"$adsd" --data-dir "$work/data" --listen 127.0.0.1:0 --api-keys "$work/keys.toml" --consumers 2 > "$work/adsd.out" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do grep -q listening "$work/adsd.out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^adsd listening on \(http:[^ ]*\).*/\1/p' "$work/adsd.out")

script=bench/wrk/post_ad.lua
if [[ $what == get ]]; then
  wrk -t2 -c"$connections" -d3s -s bench/wrk/post_ad.lua "$url" > /dev/null   # ads to read
  for _ in $(seq 1 100); do
    r=$(curl -s "$url/readyz"); [[ $r == *'"ready":true'* ]] && break; sleep 0.1
  done
  sqlite3 "$work/data/read.db" "SELECT ad_id FROM ads LIMIT 5000" > "$work/ids.txt"
  export ADSD_IDS_FILE=$work/ids.txt
  script=bench/wrk/get_ad.lua
fi

snapshot() {  # thread name -> utime + stime, in clock ticks
  for t in /proc/$pid/task/*; do
    name=$(cat "$t/comm")
    read -r -a f <<< "$(sed 's/.*) //' "$t/stat")"
    echo "$name ${f[11]} ${f[12]}"
  done | awk '{ticks[$1] += $2 + $3} END {for (n in ticks) print n, ticks[n]}' | sort
}
snapshot > "$work/before"
wrk -t2 -c"$connections" -d"${seconds}s" -s "$script" "$url" > "$work/wrk.out"
snapshot > "$work/after"
requests=$(sed -n 's/^WRK_JSON {"requests":\([0-9]*\).*/\1/p' "$work/wrk.out")
hz=$(getconf CLK_TCK)
echo "$what, $connections connections, ${seconds}s: $requests requests ($((requests / seconds))/s)"
join "$work/before" "$work/after" | awk -v n="$requests" -v hz="$hz" -v s="$seconds" '
  { ms = ($3 - $2) * 1000 / hz; total += ms; if (ms > 0) printf "  %-14s %6.1f us/request  (%4.0f %% of a core)\n", $1, ms * 1000 / n, ms / s / 10 }
  END { printf "  %-14s %6.1f us/request  (%4.0f %% of a core)\n", "all threads", total * 1000 / n, total / s / 10 }'
