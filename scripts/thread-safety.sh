#!/usr/bin/env bash
# Checks the engine's locking rules with clang's static thread-safety analysis.
#
#   scripts/thread-safety.sh
#
# Builds the engine libraries (cqrs/), their tests, and the service's annotated files (ads/, http/,
# app/adsd: listed below) with clang++ and
# -Wthread-safety (the `thread-safety` preset: build/thread-safety, -O0, warnings are errors), so
# that a member read without the mutex its GUARDED_BY names, a helper called without the lock it
# REQUIRES, or a lock held where EXCLUDES forbids it fails here. Exits non-zero on any warning.
# The convention is in cqrs/README.md ("Thread-safety annotations").
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
if ! command -v clang++ >/dev/null; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang
fi

targets=(
  cqrs_core cqrs_log cqrs_store cqrs_pg cqrs_store_postgres cqrs_sql cqrs_consumer cqrs_kafka
  cqrs_projection cqrs_projection_pg cqrs_snapshot cqrs_snapshot_pg
  cqrs_core_test cqrs_log_test cqrs_log_crash_test cqrs_store_test cqrs_store_postgres_test
  cqrs_pg_test cqrs_sql_test cqrs_group_commit_test cqrs_keyed_lanes_test cqrs_consumer_test
  cqrs_kafka_codec_test cqrs_kafka_test cqrs_kafka_cluster_test cqrs_projection_test cqrs_projection_pg_test
  # The outbox alone, not the ads_write library: that would build the whole service and the
  # HTTP layer (Beast) first, which is most of the cost and has no annotations yet.
  ads/CMakeFiles/ads_write.dir/write/outbox.cc.o
  # Webhooks and the live stream: their annotated classes, object by object for the same reason.
  ads/CMakeFiles/ads_notify.dir/notify/status_change.cc.o
  ads/CMakeFiles/ads_notify.dir/notify/sqlite_webhook_store.cc.o
  ads/CMakeFiles/ads_notify.dir/notify/pg_webhook_store.cc.o
  ads/CMakeFiles/ads_notify.dir/notify/webhook_lanes.cc.o
  ads/CMakeFiles/ads_notify.dir/notify/webhooks.cc.o
  ads/CMakeFiles/ads_notify.dir/notify/pg_webhook_deliverer.cc.o
  app/adsd/CMakeFiles/adsd_service.dir/status_stream.cc.o
  # The service's own locks: the HTTP layer (sessions, metrics, rate limits, the client's pool,
  # the circuit breaker), the validation worker, the external validator, the read side and the
  # blocking pool.
  http/CMakeFiles/adsd_http.dir/server.cc.o
  http/CMakeFiles/adsd_http.dir/metrics.cc.o
  http/CMakeFiles/adsd_http.dir/rate_limit.cc.o
  http/CMakeFiles/adsd_http.dir/client.cc.o
  http/CMakeFiles/adsd_http.dir/resilience.cc.o
  ads/CMakeFiles/ads_service.dir/validation_worker.cc.o
  ads/CMakeFiles/ads_service.dir/external_validator.cc.o
  ads/CMakeFiles/ads_read.dir/read/read_side.cc.o
  app/adsd/CMakeFiles/adsd_service.dir/service.cc.o
)

cmake --preset thread-safety >/dev/null
log=build/thread-safety/thread-safety.log
# The compiler's output is kept whole in $log; any warning fails the check, not only errors.
if ! cmake --build --preset thread-safety -j "$(nproc)" --target "${targets[@]}" 2>&1 | tee "$log"; then
  echo "thread-safety.sh: the build failed (see $log)" >&2
  exit 1
fi
if grep -q 'warning:' "$log"; then
  echo "thread-safety.sh: warnings (see $log)" >&2
  exit 1
fi
echo "thread-safety.sh: no thread-safety findings"
