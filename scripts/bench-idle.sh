#!/usr/bin/env bash
# Throughput and p99 with vs without 10,000 idle connections, Ember and a real
# redis-server side by side (one at a time, each pinned to CPU 0, clients on
# CPU 1 with taskset).
#
#   scripts/bench-idle.sh [requests] [idle]     (defaults 100000 10000)
#
# EMBER_BIN picks the binary (default target/release/ember-server, built if
# missing). Needs `ulimit -n` above idle + 100: the script raises the soft
# limit to 20000 where the hard limit allows, else uses what it can and
# lowers the idle count to fit. Every step is under `timeout`, so the script
# ends in bounded time. A benchmark, never a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
IDLE=${2:-10000}
EMBER_PORT=${EMBER_PORT:-7479}
REDIS_PORT=${REDIS_PORT:-7480}
EMBER_BIN=${EMBER_BIN:-./target/release/ember-server}
for tool in redis-server redis-benchmark redis-cli taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ -x "$EMBER_BIN" ] || cargo build --release --quiet

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
if [ "$FDS" != unlimited ] && [ $((IDLE + 200)) -gt "$FDS" ]; then
  IDLE=$((FDS - 200))
  echo "note: ulimit -n is $FDS; using $IDLE idle connections" >&2
fi

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# bench PORT -> "test rps p99" lines for SET and GET, 50 clients, pipeline 1
bench() {
  timeout 180 taskset -c 1 redis-benchmark -p "$1" -c 50 -n "$N" -r 100000 -d 64 -t set,get --csv 2>/dev/null |
    awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2, $7 }'
}

# Hold IDLE connections open (each sends one PING so the server registered
# it) until killed; prints "ready" once all are up.
hold_idle() {
  taskset -c 1 python3 - "$1" "$IDLE" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    socks.append(s)
for s in socks:
    s.recv(16)
print("ready", flush=True)
time.sleep(600)
PY
  HOLDER=$!
  PIDS+=("$HOLDER")
}

declare -A R
run_server() { # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  taskset -c 0 "$@" >/dev/null 2>&1 &
  local spid=$!
  PIDS+=("$spid")
  wait_up "$port"
  bench "$port" >/dev/null # warm-up
  while read -r t rps p99; do R[$name,$t,base]="$rps $p99"; done < <(bench "$port")
  local out; out=$(mktemp)
  hold_idle "$port" > "$out"
  for _ in $(seq 600); do grep -q ready "$out" && break; sleep 0.1; done
  grep -q ready "$out" || { echo "$name: idle connections did not come up" >&2; exit 1; }
  local clients; clients=$(redis-cli -p "$port" info clients | awk -F: '/^connected_clients/ {print $2+0}')
  echo "$name: connected_clients with idle = $clients" >&2
  while read -r t rps p99; do R[$name,$t,idle]="$rps $p99"; done < <(bench "$port")
  kill "$HOLDER" 2>/dev/null || true
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  rm -f "$out"
}

run_server ember "$EMBER_PORT" "$EMBER_BIN" --port "$EMBER_PORT" --save "" --maxclients 20000 --loglevel warning
run_server redis "$REDIS_PORT" redis-server --port "$REDIS_PORT" --save "" --appendonly no --maxclients 20000 --loglevel warning

printf '%-6s %-4s %12s %9s %12s %9s %9s %9s\n' server test rps p99_ms rps_idle p99_idle rps_ratio p99_ratio
for name in ember redis; do
  for t in SET GET; do
    read -r b99 <<<"${R[$name,$t,base]#* }"; read -r i99 <<<"${R[$name,$t,idle]#* }"
    b=${R[$name,$t,base]%% *}; i=${R[$name,$t,idle]%% *}
    awk -v n="$name" -v t="$t" -v b="$b" -v bp="$b99" -v i="$i" -v ip="$i99" 'BEGIN {
      printf "%-6s %-4s %12.0f %9.3f %12.0f %9.3f %9.3f %9.3f\n", n, t, b, bp, i, ip, i / b, ip / bp }'
  done
done
echo "(rps_ratio = with idle / without; p99_ratio = p99 with idle / without)"
