#!/usr/bin/env bash
# A three-node Apache Kafka cluster (KRaft; each node is broker and controller in one JVM) on
# loopback and free ports, for durability tests and benchmarks. The jars are kafka.sh's (fetched
# from Maven Central on first use). Needs java (17) and kcat (scripts/install-deps.sh --servers).
#
#   scripts/servers/kafka-cluster.sh start DIR     # formats and starts nodes 1-3 in DIR, waits until
#                                                  # each node answers and shows 3 live brokers,
#                                                  # prints the bootstrap list (also in DIR/bootstrap)
#   scripts/servers/kafka-cluster.sh kill DIR N    # SIGKILLs node N (1-3) and waits until it is gone
#   scripts/servers/kafka-cluster.sh restart DIR N # stops node N if it runs, starts it again (same
#                                                  # data, same ports), waits as `wait DIR 3` does
#   scripts/servers/kafka-cluster.sh wait DIR [K]  # waits until each running node answers and shows
#                                                  # K (3) live brokers (after a kill: K=2)
#   scripts/servers/kafka-cluster.sh leader DIR TOPIC  # prints the node that leads most of TOPIC's
#                                                  # partitions
#   scripts/servers/kafka-cluster.sh stop DIR      # stops every node (SIGTERM, then SIGKILL), by PID
#
# Layout: DIR/bootstrap = 127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3 (written once the cluster is
# ready); DIR/nodeN/{server.properties,pid,port,kafka.out,data}. Node N is broker id N in the
# cluster's metadata (node.id=N), so a client's "leader of partition p" names the node to kill.
# `start` on a DIR that holds a cluster wipes it first (stopping what still runs there).
#
# Durability settings: topics default to replication 3 with min.insync.replicas=2 and no unclean
# leader election, the group offsets and transaction logs too; so with acks=all an acknowledged
# record is on at least two brokers and survives the loss of any one. A killed broker is fenced
# (and leaves the in-sync replicas) after broker.session.timeout.ms (3 s here, 9 s by default):
# that bounds how long an acks=all write waits at a SIGKILL.
#
# Each JVM gets -Xmx256m and only the C1 compiler (a quick start). Exit status: 0 on success, 1
# when a node did not come up in time (its kafka.out says why), 2 on bad usage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start, kill, restart, wait, leader or stop}
dir=${2:?a directory}
nodes=(1 2 3)
ready_within_s=120

usage() { echo "usage: $0 start|stop|wait DIR, $0 kill|restart DIR N, $0 leader DIR TOPIC" >&2; exit 2; }

node_arg() {
  [[ ${1:-} =~ ^[123]$ ]] || usage
  echo "$1"
}

# Alive: the process exists and is not a zombie waiting for its parent.
alive() {
  local pid=$1 state
  kill -0 "$pid" 2> /dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2> /dev/null) || return 1
  [[ $state != Z ]]
}

bootstrap_list() {
  local list="" n
  for n in "${nodes[@]}"; do list+="${list:+,}127.0.0.1:$(cat "$dir/node$n/port")"; done
  echo "$list"
}

# How many live (unfenced) brokers node N's own listener reports: it answers, so it serves.
live_brokers_at() {
  local n=$1
  kcat -b "127.0.0.1:$(cat "$dir/node$n/port")" -L -m 2 2> /dev/null |
    awk -v n="$n" '/^Metadata for/ && $0 !~ "from broker " n ":" {exit} /^ *[0-9]+ brokers:$/ {print $1; exit}'
}

# Waits until every running node answers and reports `want` live brokers; fails early if a node
# that should run has exited.
wait_ready() {
  local want=$1 deadline=$((SECONDS + ready_within_s)) n ready
  while ((SECONDS < deadline)); do
    ready=1
    for n in "${nodes[@]}"; do
      [[ -f $dir/node$n/pid ]] || continue
      if ! alive "$(cat "$dir/node$n/pid")"; then
        echo "kafka node $n exited: see $dir/node$n/kafka.out" >&2
        return 1
      fi
      [[ $(live_brokers_at "$n") == "$want" ]] || { ready=0; break; }
    done
    ((ready)) && return 0
    sleep 0.2
  done
  echo "kafka cluster: $want live brokers not seen by every node within ${ready_within_s} s" >&2
  return 1
}

launch() {
  local n=$1 libs
  libs=$("$here/kafka.sh" libs)
  # C1 only (TieredStopAtLevel=1): half the start time on two cores, and fast enough for tests.
  java -Xmx256m -Xms64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$libs/*" kafka.Kafka "$dir/node$n/server.properties" \
    >> "$dir/node$n/kafka.out" 2>&1 &
  echo $! > "$dir/node$n/pid"
}

stop_node() {
  local n=$1 signal=$2 pid
  [[ -f $dir/node$n/pid ]] || return 0
  pid=$(cat "$dir/node$n/pid")
  kill "-$signal" "$pid" 2> /dev/null || true
  for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
  kill -KILL "$pid" 2> /dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  rm -f "$dir/node$n/pid"
}

stop_all() {
  local n
  [[ -d $dir ]] || return 0
  # SIGTERM to all at once (a controlled shutdown of each needs the others' quorum), then wait.
  for n in "${nodes[@]}"; do
    [[ -f $dir/node$n/pid ]] && { kill -TERM "$(cat "$dir/node$n/pid")" 2> /dev/null || true; }
  done
  for n in "${nodes[@]}"; do stop_node "$n" TERM; done
  rm -f "$dir/bootstrap"
}

configure() {
  local n file voters="" libs cluster port taken=" "
  # Six distinct free ports: a broker and a controller listener per node.
  for n in "${nodes[@]}"; do
    mkdir -p "$dir/node$n"
    for file in port controller-port; do
      port=$("$here/free-port.sh")
      while [[ $taken == *" $port "* ]]; do port=$("$here/free-port.sh"); done
      taken+="$port "
      echo "$port" > "$dir/node$n/$file"
    done
  done
  for n in "${nodes[@]}"; do voters+="${voters:+,}$n@127.0.0.1:$(cat "$dir/node$n/controller-port")"; done
  libs=$("$here/kafka.sh" libs)
  # A cluster id as Kafka makes them (16 random bytes, URL-safe base64): one JVM start less.
  cluster=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  for n in "${nodes[@]}"; do
    local controller
    port=$(cat "$dir/node$n/port")
    controller=$(cat "$dir/node$n/controller-port")
    cat > "$dir/node$n/server.properties" << PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node$n/data
num.partitions=8
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
PROPS
  done
  # Formatting is a JVM start each: three at once.
  for n in "${nodes[@]}"; do
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster" -c "$dir/node$n/server.properties" \
      > "$dir/node$n/format.log" 2>&1 &
  done
  wait
}

case $cmd in
  start)
    [[ $# -eq 2 ]] || usage
    "$here/kafka.sh" libs > /dev/null
    # Twice at most: a free port can be taken by someone else between its choice and its use.
    for attempt in 1 2; do
      mkdir -p "$dir"
      dir=$(cd "$dir" && pwd)
      stop_all
      rm -rf "${dir:?}"/node*
      configure
      for n in "${nodes[@]}"; do launch "$n"; done
      if wait_ready 3; then
        bootstrap_list > "$dir/bootstrap"
        cat "$dir/bootstrap"
        exit 0
      fi
      echo "kafka cluster: attempt $attempt failed" >&2
    done
    stop_all
    exit 1
    ;;
  kill)
    [[ $# -eq 3 ]] || usage
    n=$(node_arg "$3")
    stop_node "$n" KILL
    ;;
  restart)
    [[ $# -eq 3 ]] || usage
    n=$(node_arg "$3")
    stop_node "$n" TERM
    launch "$n"
    wait_ready 3
    ;;
  wait)
    [[ $# -le 3 ]] || usage
    wait_ready "${3:-3}"
    ;;
  leader)
    [[ $# -eq 3 ]] || usage
    kcat -b "$(bootstrap_list)" -L -t "$3" -m 5 2> /dev/null |
      sed -n 's/^ *partition [0-9]*, leader \([0-9]*\),.*/\1/p' | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    stop_all
    ;;
  *)
    usage
    ;;
esac
