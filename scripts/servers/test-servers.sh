#!/usr/bin/env bash
# The servers the test suite runs against: a PostgreSQL and a Kafka broker, both on loopback and
# free ports. ctest starts them once before the tests that need them and stops them afterwards
# (a test fixture, see CMakeLists.txt); tests find them through $ADSD_TEST_SERVERS.
#
#   scripts/servers/test-servers.sh start DIR   # DIR/postgres/url, DIR/kafka/bootstrap
#   scripts/servers/test-servers.sh stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start or stop}
dir=${2:?a directory}

case $cmd in
  start)
    # Twice at most: a free port can be taken by someone else between its choice and its use.
    for attempt in 1 2; do
      "$here/test-servers.sh" stop "$dir" > /dev/null 2>&1 || true   # leftovers of an earlier run
      rm -rf "$dir"
      mkdir -p "$dir"
      if "$here/postgres.sh" start "$dir/postgres" && "$here/kafka.sh" start "$dir/kafka"; then exit 0; fi
      echo "test servers: attempt $attempt failed" >&2
    done
    exit 1
    ;;
  stop)
    [[ -d $dir ]] || exit 0
    status=0
    "$here/kafka.sh" stop "$dir/kafka" || status=1
    "$here/postgres.sh" stop "$dir/postgres" immediate || status=1
    exit $status
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
