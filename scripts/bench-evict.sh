#!/usr/bin/env bash
# A write flood into a memory-capped cache, Ember and a real redis-server side
# by side on this machine. A benchmark, never a test.
#
#   scripts/bench-evict.sh [requests] [maxmemory]   (defaults 2000000, 64mb)
#
# For each server (pinned to CPU 0; redis-benchmark on CPU 1): SET of random
# keys (1,000,000-key space, 256-byte values, 50 clients, pipeline 16), once
# with `maxmemory` + allkeys-lru and once without a limit. Reports peak
# used_memory / maxmemory and peak RSS / maxmemory (sampled every 100 ms),
# keys held at the end, evicted_keys, and redis-benchmark's p50/p99 latency,
# so the p99 with eviction can be compared with the p99 without.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-2000000}
MAXMEM=${2:-64mb}
PORT=${PORT:-7381}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
if [ -z "${EMBER_BIN:-}" ]; then
  cargo build --release --quiet
  EMBER_BIN=./target/release/ember-server
fi
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 1' INT TERM

bytes() { redis-cli -p "$PORT" config get maxmemory | tail -1; }
info() { redis-cli -p "$PORT" info "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f {print $2}'; }

# run NAME LIMIT(0 = none) -> one result line
run() {
  local name=$1 limit=$2 args=()
  [ "$limit" != 0 ] && args=(--maxmemory "$MAXMEM" --maxmemory-policy allkeys-lru)
  if [ "$name" = ember ]; then
    taskset -c 0 "$EMBER_BIN" --port "$PORT" --save "" --loglevel warning "${args[@]}" >/dev/null 2>&1 &
  else
    taskset -c 0 redis-server --port "$PORT" --save "" --appendonly no --loglevel warning "${args[@]}" >/dev/null 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  local peak_used=0 peak_rss=0 out
  out=$(mktemp)
  taskset -c 1 redis-benchmark -p "$PORT" -t set -r 1000000 -d 256 -n "$N" -c 50 -P 16 > "$out" 2>/dev/null &
  local bpid=$!
  while kill -0 "$bpid" 2>/dev/null; do
    local u r
    u=$(info memory used_memory || echo 0); r=$(awk '/^VmRSS/ {print $2 * 1024}' "/proc/$PID/status")
    [ "${u:-0}" -gt "$peak_used" ] && peak_used=$u
    [ "${r:-0}" -gt "$peak_rss" ] && peak_rss=$r
    sleep 0.1
  done
  wait "$bpid" || true
  local lat keys ev maxb
  lat=$(tr '\r' '\n' < "$out" | awk '/avg +min +p50 +p95 +p99 +max/ {getline; print "p50=" $3 " p99=" $5}')
  keys=$(redis-cli -p "$PORT" dbsize); ev=$(info stats evicted_keys)
  maxb=$(bytes)
  if [ "$limit" != 0 ]; then
    printf "%-6s limit  used/max=%.4f rss/max=%.2f keys=%s evicted=%s %s\n" "$name" \
      "$(awk -v a="$peak_used" -v b="$maxb" 'BEGIN{print a/b}')" \
      "$(awk -v a="$peak_rss" -v b="$maxb" 'BEGIN{print a/b}')" "$keys" "$ev" "$lat"
  else
    printf "%-6s none   keys=%s %s\n" "$name" "$keys" "$lat"
  fi
  rm -f "$out"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

for name in ember redis; do
  run "$name" 1
  run "$name" 0
done
