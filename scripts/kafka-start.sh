#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft, combined broker and controller) on loopback, in the
# background, and returns once it accepts connections. For local runs and CI; tests start their own broker
# through kafka/broker.ts. Prints KAFKA_BROKERS=127.0.0.1:<port> on success.
# Usage: scripts/kafka-start.sh [--port N] [--controller-port N] [--data DIR] [--timeout SECONDS]
#   --port            client (PLAINTEXT) port, default 19092
#   --controller-port KRaft controller port, default port+1
#   --data            data dir, kept across restarts; default a fresh ${TMPDIR:-/tmp}/flowtrail-kafka-<port>
#   --timeout         seconds to wait for the broker to accept connections, default 60
# The data dir holds server.properties, broker.pid, broker.log and the log dirs (logs/).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port=19092
controller_port=""
data=""
timeout=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --controller-port) controller_port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "kafka-start: unknown argument $1" >&2; exit 2 ;;
  esac
done
controller_port="${controller_port:-$((port + 1))}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ -z "$data" ]]; then
  data="${TMPDIR:-/tmp}/flowtrail-kafka-$port"
  fresh=1
else
  fresh=0
fi
pidfile="$data/broker.pid"
logfile="$data/broker.log"

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && port_open "$port"; then
  echo "kafka-start: broker already running (pid $(cat "$pidfile")) on 127.0.0.1:$port" >&2
  echo "KAFKA_BROKERS=127.0.0.1:$port"
  exit 0
fi
for p in "$port" "$controller_port"; do
  if port_open "$p"; then
    echo "kafka-start: port $p on 127.0.0.1 is already in use by another process" >&2
    exit 1
  fi
done

bash "$repo/scripts/kafka-install.sh"

if ((fresh)); then
  rm -rf "$data"
fi
mkdir -p "$data/logs"
sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@LOG_DIR@#$data/logs#g" \
  "$repo/kafka/server.properties.template" >"$data/server.properties"

java_args=(-cp "$repo/.kafka/libs/*" "-Dlog4j2.configurationFile=$repo/kafka/log4j2.properties")
# KAFKA_HEAP_OPTS mirrors the variable of Kafka's own launch scripts.
read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"

if [[ ! -f "$data/logs/meta.properties" ]]; then
  # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding; a leading '-' would read as a flag.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | sed 's/^-/A/')"
  if ! java "${java_args[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$data/server.properties" \
    >>"$logfile" 2>&1; then
    echo "kafka-start: formatting storage failed; last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2
    exit 1
  fi
fi

started=$SECONDS
nohup java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true "${java_args[@]}" \
  kafka.Kafka "$data/server.properties" >>"$logfile" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

deadline=$((SECONDS + timeout))
until port_open "$port"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "kafka-start: broker exited during startup; last lines of $logfile:" >&2
    tail -n 40 "$logfile" >&2
    rm -f "$pidfile"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "kafka-start: broker did not accept connections on 127.0.0.1:$port within ${timeout}s; last lines of $logfile:" >&2
    tail -n 40 "$logfile" >&2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    exit 1
  fi
  sleep 0.1
done
echo "kafka-start: broker pid $pid listening on 127.0.0.1:$port after $((SECONDS - started))s (data $data)" >&2
echo "KAFKA_BROKERS=127.0.0.1:$port"
