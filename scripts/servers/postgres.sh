#!/usr/bin/env bash
# A PostgreSQL 15 server (Debian's packages) on loopback and a free port, for tests and
# benchmarks. As root it runs as the `postgres` user, which the package creates.
#
#   scripts/servers/postgres.sh start DIR   # cluster, socket and log in DIR; prints the URL
#   scripts/servers/postgres.sh replica DIR PRIMARY_DIR
#                                          # a streaming replica (hot standby) of PRIMARY_DIR's server
#   scripts/servers/postgres.sh stop DIR [fast|immediate]
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

serve() { # DIR PORT: start the cluster in DIR/data on PORT
  as_owner "$bin/pg_ctl" -D "$1/data" -l "$1/postgres.log" -w -t 60 \
    -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=400" start > /dev/null
}

case $cmd in
  replica)
    primary=$(cd "${3:?PRIMARY_DIR}" && pwd)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    if [[ -f $dir/port ]]; then  # a restart
      port=$(cat "$dir/port")
    else
      port=$("$here/free-port.sh")
      # A copy of the primary that follows it (-R writes standby.signal and the connection); a
      # fast checkpoint, not the spread one that takes minutes on an idle server.
      as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$(cat "$primary/port")" -U adsd -D "$dir/data" -R -X stream \
        --checkpoint=fast \
        > "$dir/basebackup.log" 2>&1
      echo "$port" > "$dir/port"
    fi
    serve "$dir" "$port"
    echo "postgresql://adsd@127.0.0.1:$port/adsd" | tee "$dir/url"
    ;;
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
    serve "$dir" "$port"
    if [[ ! -f $dir/port ]]; then
      as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U adsd adsd
      echo "$port" > "$dir/port"
    fi
    echo "postgresql://adsd@127.0.0.1:$port/adsd" | tee "$dir/url"
    ;;
  stop)
    # `immediate` (the test fixture: its data is thrown away) skips the shutdown checkpoint,
    # which on a busy disk with thousands of test databases outlasts pg_ctl's wait.
    [[ -f $dir/data/postmaster.pid ]] || exit 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m "${3:-fast}" -w -t 300 stop > /dev/null
    ;;
  *)
    echo "usage: $0 start|stop DIR, or $0 replica DIR PRIMARY_DIR" >&2
    exit 2
    ;;
esac
