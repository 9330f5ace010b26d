#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: broker and controller in one JVM) on loopback, for tests and
# benchmarks. The jars come from Maven Central (scripts/servers/kafka-pom.xml, pinned) into
# build/kafka/libs on first use.
#
#   scripts/servers/kafka.sh start DIR   # data, logs and pid in DIR; prints the bootstrap address
#   scripts/servers/kafka.sh stop DIR    # stops the broker started in DIR (by its PID)
#   scripts/servers/kafka.sh libs        # fetches the jars if needed; prints their directory
#
# Starting again in the same DIR restarts the same broker, data and port (fault tests).
#
# DIR/bootstrap holds HOST:PORT once the broker accepts connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libs=$root/build/kafka/libs
cmd=${1:?start, stop or libs}
[[ $cmd == libs ]] || dir=${2:?a directory}

# The jars are complete when .complete holds the pom they were fetched for.
fetched() { cmp -s "$libs/.complete" "$here/kafka-pom.xml"; }

fetch() {
  fetched && return
  mkdir -p "$libs"
  # One fetch at a time: ctest may start the single broker and the cluster fixtures at once.
  (
    flock 9
    fetched && exit 0
    command -v mvn > /dev/null || { echo "maven is not installed: scripts/install-deps.sh --servers" >&2; exit 1; }
    if ! mvn -q -B -Dstyle.color=never -f "$here/kafka-pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$libs" > "$libs/../fetch.log" 2>&1; then
      cat "$libs/../fetch.log" >&2
      exit 1
    fi
    cp "$here/kafka-pom.xml" "$libs/.complete"
  ) 9> "$libs/../fetch.lock" || exit 1
}

case $cmd in
  libs)
    fetch
    echo "$libs"
    ;;
  start)
    fetch
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ -f $dir/server.properties ]]; then  # a restart: same data, same ports
      port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1://p' "$dir/server.properties")
    else
    port=$("$here/free-port.sh")
    controller=$("$here/free-port.sh")
    cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=8
PROPS
    cluster=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" > "$dir/format.log" 2>&1
    fi
    java -Xmx512m -cp "$libs/*" kafka.Kafka "$dir/server.properties" >> "$dir/kafka.out" 2>&1 &
    echo $! > "$dir/pid"
    for _ in $(seq 1 600); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port" > "$dir/bootstrap"
        cat "$dir/bootstrap"
        exit 0
      fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "kafka exited: see $dir/kafka.out" >&2; exit 1; }
      sleep 0.1
    done
    echo "kafka did not listen on $port within 60 s" >&2
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    exit 1
    ;;
  stop)
    [[ -f $dir/pid ]] || exit 0
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/bootstrap"
    ;;
  *)
    echo "usage: $0 start|stop DIR, or $0 libs" >&2
    exit 2
    ;;
esac
