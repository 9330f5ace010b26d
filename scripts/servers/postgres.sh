#!/usr/bin/env bash
# A PostgreSQL 15 server (Debian's packages) on loopback and a free port, for tests and
# benchmarks. As root it runs as the `postgres` user, which the package creates.
#
#   scripts/servers/postgres.sh start DIR   # cluster, socket and log in DIR; prints the URL
#   scripts/servers/postgres.sh stop DIR
#
# Starting again in the same DIR restarts the same cluster on the same port (fault tests).
#
# DIR/url holds postgresql://adsd@127.0.0.1:PORT/adsd once the server accepts connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=/usr/lib/postgresql/15/bin
cmd=${1:?start or stop}
dir=${2:?a directory}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    [[ -x $bin/initdb ]] || { echo "PostgreSQL 15 is not installed: scripts/install-deps.sh --servers" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    if [[ -f $dir/port ]]; then  # a restart: same cluster, same port
      port=$(cat "$dir/port")
    else
      port=$("$here/free-port.sh")
      as_owner "$bin/initdb" -D "$dir/data" -U adsd --auth=trust -E UTF8 --no-instructions > "$dir/initdb.log" 2>&1
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start > /dev/null
    if [[ ! -f $dir/port ]]; then
      as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U adsd adsd
      echo "$port" > "$dir/port"
    fi
    echo "postgresql://adsd@127.0.0.1:$port/adsd" | tee "$dir/url"
    ;;
  stop)
    [[ -f $dir/data/postmaster.pid ]] || exit 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
