#!/usr/bin/env bash
# Stops a broker started by scripts/kafka-start.sh: SIGTERM for a clean shutdown (flushes logs, closes
# segments), then SIGKILL if it has not exited within the timeout.
# Usage: scripts/kafka-stop.sh [--port N] [--data DIR] [--timeout SECONDS]
set -euo pipefail

port=19092
data=""
timeout=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "kafka-stop: unknown argument $1" >&2; exit 2 ;;
  esac
done
data="${data:-${TMPDIR:-/tmp}/flowtrail-kafka-$port}"
pidfile="$data/broker.pid"

if [[ ! -f "$pidfile" ]]; then
  echo "kafka-stop: no pid file at $pidfile, nothing to stop" >&2
  exit 0
fi
pid="$(cat "$pidfile")"
# Only signal the process if it is still our broker: pids are reused.
if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
  echo "kafka-stop: broker pid $pid is not running" >&2
  rm -f "$pidfile"
  exit 0
fi

kill -TERM "$pid"
deadline=$((SECONDS + timeout))
while kill -0 "$pid" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "kafka-stop: broker pid $pid still running after ${timeout}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
  fi
  sleep 0.2
done
rm -f "$pidfile"
echo "kafka-stop: broker on port $port stopped" >&2
