#!/usr/bin/env bash
# Builds and runs the engine benchmarks (cqrs_bench) with medians of 3 repetitions.
#
#   bench/run-engine-bench.sh [extra cqrs_bench flags, e.g. --benchmark_filter=BM_Replay]
#
# Writes build/cqrs_bench.json. Data lives in build/bench-data (a real disk, not tmpfs); the
# 1M- and 10M-event logs are built once (~4 GB for 10M) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset default -DADSD_BUILD_BENCH=ON >/dev/null
cmake --build --preset default -j "$(nproc)" --target cqrs_bench

mkdir -p build/bench-data
export ADSD_BENCH_DIR="$PWD/build/bench-data" ADSD_BENCH_LARGE=1
./build/default/bench/cqrs_bench \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out=build/cqrs_bench.json --benchmark_out_format=json "$@"
