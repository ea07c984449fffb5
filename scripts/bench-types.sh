#!/usr/bin/env bash
# Memory per element of hashes and lists, and LPUSH/LPOP cost, in Ember and
# in a real redis-server side by side on this machine. A benchmark, never a
# test.
#
#   scripts/bench-types.sh [hashes] [list_len] [requests]
#                          (defaults 100000, 1000000, 1000000)
#
# For each server (pinned to CPU 0; clients on CPU 1), each in a fresh
# process:
#   - `hashes` hashes "h:%d" of 5 fields (f1..f5 = 8-byte values), loaded
#     through `redis-cli --pipe`; RSS growth per hash;
#   - one list of `list_len` elements ("e:%d"), 1000 per RPUSH; RSS growth
#     per element;
#   - redis-benchmark (50 clients) LPUSH then LPOP on one list, at pipeline 1
#     and 16: throughput and server CPU microseconds per request
#     (utime+stime from /proc/PID/stat).
# Ratios are ember/redis. Set EMBER_BIN to measure another build.
set -euo pipefail
cd "$(dirname "$0")/.."

H=${1:-100000}
LL=${2:-1000000}
N=${3:-1000000}
EMBER_PORT=${EMBER_PORT:-7379}
REDIS_PORT=${REDIS_PORT:-7380}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
if [ -z "${EMBER_BIN:-}" ]; then
  cargo build --release --quiet
  EMBER_BIN=./target/release/ember-server
fi
TICK=$(getconf CLK_TCK)
# Servers started (start runs in a subshell, so their pids go to a file).
PIDFILE=$(mktemp)
cleanup() { xargs -r kill < "$PIDFILE" 2>/dev/null || true; rm -f "$PIDFILE"; }
trap cleanup EXIT

# start NAME PORT -> pid
start() {
  if [ "$1" = ember ]; then
    taskset -c 0 "$EMBER_BIN" --port "$2" --save "" --loglevel warning >/dev/null 2>&1 &
  else
    taskset -c 0 redis-server --port "$2" --save "" --appendonly no --loglevel warning >/dev/null 2>&1 &
  fi
  local pid=$!
  echo "$pid" >> "$PIDFILE"
  for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$pid"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

HASHES=$(mktemp); LIST=$(mktemp)
trap 'cleanup; rm -f "$HASHES" "$LIST"' EXIT
trap 'exit 1' INT TERM
awk -v n="$H" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = sprintf("h:%d", i)
    printf "*12\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k
    for (f = 1; f <= 5; f++) {
      v = sprintf("v%07d", (i * 5 + f) % 10000000)
      printf "$2\r\nf%d\r\n$8\r\n%s\r\n", f, v
    }
  }
}' > "$HASHES"
awk -v m="$LL" 'BEGIN {
  for (i = 0; i < m; i += 1000) {
    n = (m - i < 1000) ? m - i : 1000
    printf "*%d\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n", 2 + n
    for (j = i; j < i + n; j++) { e = sprintf("e:%d", j); printf "$%d\r\n%s\r\n", length(e), e }
  }
}' > "$LIST"

# per_item NAME FILE COUNT -> bytes of RSS growth per item (fresh server)
per_item() {
  local port pid r0 r1
  port=$([ "$1" = ember ] && echo "$EMBER_PORT" || echo "$REDIS_PORT")
  pid=$(start "$1" "$port")
  r0=$(rss_kb "$pid")
  taskset -c 1 redis-cli -p "$port" --pipe < "$2" >/dev/null
  sleep 2
  r1=$(rss_kb "$pid")
  stop "$pid"
  awk -v a="$r0" -v b="$r1" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }'
}

echo "memory: RSS growth per item (bytes)"
printf "%-28s %10s %10s %7s\n" "load" ember redis ratio
for spec in "hashes of 5 fields:$HASHES:$H" "list elements:$LIST:$LL"; do
  IFS=: read -r label file count <<<"$spec"
  e=$(per_item ember "$file" "$count"); r=$(per_item redis "$file" "$count")
  printf "%-28s %10s %10s %7.2f\n" "$label" "$e" "$r" "$(awk -v a="$e" -v b="$r" 'BEGIN{print a/b}')"
done

# bench NAME PORT PID TEST P -> "rps cpu_us_per_request"
bench() {
  local c0 c1 rps
  c0=$(cpu_ticks "$3")
  rps=$(taskset -c 1 redis-benchmark -p "$2" -c 50 -n "$N" -P "$5" -t "$4" -q 2>/dev/null \
        | tr '\r' '\n' | awk '/requests per second/ {print $2}' | tail -1)
  c1=$(cpu_ticks "$3")
  awk -v r="$rps" -v a="$c0" -v b="$c1" -v t="$TICK" -v n="$N" \
    'BEGIN { printf "%s %.3f", r, (b - a) / t * 1e6 / n }'
}

echo
echo "LPUSH/LPOP: $N requests, 50 clients"
printf "%-6s %3s %12s %12s %8s %10s %10s %8s\n" test P ember_rps redis_rps ratio ember_us redis_us cpu_ratio
EPID=$(start ember "$EMBER_PORT"); RPID=$(start redis "$REDIS_PORT")
for P in 1 16; do
  for t in lpush lpop; do
    read -r er ec <<<"$(bench ember "$EMBER_PORT" "$EPID" "$t" "$P")"
    read -r rr rc <<<"$(bench redis "$REDIS_PORT" "$RPID" "$t" "$P")"
    printf "%-6s %3s %12s %12s %8.2f %10s %10s %8.2f\n" "$t" "$P" "$er" "$rr" \
      "$(awk -v a="$er" -v b="$rr" 'BEGIN{print a/b}')" "$ec" "$rc" \
      "$(awk -v a="$ec" -v b="$rc" 'BEGIN{print (b > 0) ? a/b : 0}')"
  done
done
