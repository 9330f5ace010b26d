#!/usr/bin/env bash
# Installs everything, builds with warnings as errors, and runs every test.
#
#   scripts/test.sh            # the CI build (RelWithDebInfo, -Werror), then scripts/thread-safety.sh
#                              # (skip it with ADSD_SKIP_THREAD_SAFETY=1)
#   scripts/test.sh asan       # the same suite under AddressSanitizer + UBSan
#   scripts/test.sh tsan       # the same suite under ThreadSanitizer, less the tests that run
#                              # librdkafka (its threads start through C11 thrd_create, which this
#                              # libtsan does not intercept: the runtime crashes in them)
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-ci}
jobs=$(nproc)

./scripts/install-deps.sh --bench --servers --ci --browser   # wrk, nginx (bench smoke test); PostgreSQL, Java, Maven (Kafka); promtool, clang-format; Chromium (web UI)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" --timeout 600 --output-on-failure
# clang's thread-safety analysis of the engine (scripts/thread-safety.sh; ~3 CPU-minutes cold), in the CI run only.
[[ $preset != ci || -n ${ADSD_SKIP_THREAD_SAFETY:-} ]] || ./scripts/thread-safety.sh
