# Sourced by the benchmark scripts that run adsd processes on their own servers
# (distributed-bench.sh, worker-drain.sh): starting one and waiting for it to be ready, stopping
# one, and what it acknowledged. The caller sets `out` (a directory for each process's files)
# and `keys` (the API keys file), and keeps the PIDs it must stop in the array `pids`.

stop_pid() { # SIGTERM, then wait for it to go (it is not this shell's child: no `wait`)
  kill -TERM "$1" 2> /dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$1" 2> /dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2> /dev/null || true
}

stop_all() { # every PID in `pids`, and the servers in $1 (scripts/servers/test-servers.sh)
  for p in "${pids[@]}"; do stop_pid "$p"; done
  scripts/servers/test-servers.sh stop "$1" > /dev/null 2>&1 || true
}

run_adsd_binary() { # binary, name, extra args...; prints the port once /readyz answers
  local bin=$1 name=$2
  shift 2
  mkdir -p "$out/$name"
  : > "$out/$name/stdout"  # before the process opens it: the wait below reads it at once
  "$bin" --data-dir "$out/$name/data" --listen 127.0.0.1:0 --api-keys "$keys" --threads 2 "$@" \
    > "$out/$name/stdout" 2> "$out/$name/stderr" &
  echo $! > "$out/$name/pid"  # this runs in a subshell: the caller takes the PID from the file
  for _ in $(seq 1 300); do
    port=$(sed -n 's/^adsd listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$out/$name/stdout")
    if [[ -n $port ]] && curl -sf "http://127.0.0.1:$port/readyz" > /dev/null; then echo "$port"; return; fi
    sleep 0.1
  done
  echo "adsd $name did not become ready: $(cat "$out/$name/stderr")" >&2
  exit 1
}

acknowledged_by() { # port: POST /v1/ads answered 2xx, from its metrics
  curl -s "http://127.0.0.1:$1/metrics" |
    awk '/^adsd_http_requests_total\{/ && /route="\/v1\/ads"/ && /method="POST"/ && /status="2/ {n += $2} END {print n + 0}'
}
