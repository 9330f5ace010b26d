#!/usr/bin/env bash
# A first look at the service's request rates on the embedded default: starts adsd (async
# pipeline) in a fresh data directory, drives it with wrk from outside the process (64 keep-alive
# connections, closed loop), and prints POST and GET rates and latencies, then how far the
# consumers got. The full benchmark of the paper's pipelines is a separate, later command.
#
#   bench/run-service-smoke.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}

./scripts/install-deps.sh
command -v wrk >/dev/null || { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)" --target adsd >/dev/null

data=$(mktemp -d)
./build/default/app/adsd/adsd --data-dir "$data" --listen 127.0.0.1:0 > "$data/adsd.out" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q listening "$data/adsd.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^adsd listening on \(http:[^ ]*\).*/\1/p' "$data/adsd.out")
export ADSD_TOKEN=$(sed -n 's/^token = "\(demo-.*\)"/\1/p' "$data/api-keys.toml")

echo "== POST /v1/ads (async pipeline), 64 connections, ${seconds}s"
wrk -t1 -c64 -d"${seconds}s" --latency -s bench/wrk/post_ad.lua "$url" | grep -E 'Requests/sec|  50%|  99%|Non-2xx'
echo "   consumers right after the load: $(curl -s "$url/readyz")"
id=$(curl -s "$url/v1/ads?limit=1" -H "Authorization: Bearer $ADSD_TOKEN" | sed -n 's/.*"ad_id":"\([^"]*\)".*/\1/p' | head -n 1)
echo "== GET /v1/ads/{id}, 64 connections, ${seconds}s"
wrk -t1 -c64 -d"${seconds}s" --latency -H "Authorization: Bearer $ADSD_TOKEN" "$url/v1/ads/$id" | grep -E 'Requests/sec|  50%|  99%|Non-2xx'
