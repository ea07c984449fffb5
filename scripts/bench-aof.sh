#!/usr/bin/env bash
# The append-only file's cost: Ember vs a real redis-server, side by side.
#
#   scripts/bench-aof.sh [requests]        (default 200000 per run)
#
# For appendfsync always and everysec, each server runs (one at a time,
# pinned to CPU 0, redis-benchmark on CPU 1) with appendonly yes in a fresh
# temporary directory, and SET runs with 50 clients at pipeline 1 and 16.
# Prints throughput and server CPU microseconds per request (utime+stime of
# the whole process from /proc/PID/stat, so AOF writer threads count), then
# the ratios ember/redis. Under `always` both servers acknowledge a write
# only after fsync; many clients share one fsync (group commit). Only ratios
# mean anything on a shared machine. Never a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-200000}
PORT=${PORT:-7481}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
cargo build --release --quiet
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# serve NAME MODE -> starts the server, sets PID
serve() {
  local dir
  dir=$(mktemp -d)
  DIRS+=("$dir")
  if [ "$1" = ember ]; then
    taskset -c 0 ./target/release/ember-server --port "$PORT" --save "" --dir "$dir" \
      --appendonly yes --appendfsync "$2" --loglevel warning >/dev/null 2>&1 &
  else
    taskset -c 0 redis-server --port "$PORT" --save "" --dir "$dir" \
      --appendonly yes --appendfsync "$2" --loglevel warning >/dev/null 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# run P -> "rps cpu_us_per_request"
run() {
  local before after rps
  before=$(cpu_ticks "$PID")
  rps=$(taskset -c 1 redis-benchmark -p "$PORT" -t set -n "$N" -c 50 -P "$1" -r 100000 -q 2>/dev/null \
        | tr '\r' '\n' | awk '/requests per second/ {print $2}' | tail -1)
  after=$(cpu_ticks "$PID")
  echo "$rps $(awk -v d=$((after - before)) -v n="$N" -v hz="$TICK" 'BEGIN {printf "%.3f", d * 1e6 / hz / n}')"
}

DIRS=()
cleanup() { kill "${PID:-}" 2>/dev/null || true; rm -rf "${DIRS[@]}"; }
trap cleanup EXIT

printf '%-9s %-3s | %12s %12s %7s | %10s %10s %7s\n' fsync P "ember rps" "redis rps" ratio "ember us" "redis us" ratio
printf -- '-%.0s' $(seq 83); echo
for mode in always everysec; do
  for p in 1 16; do
    serve ember "$mode"; read -r e_rps e_cpu < <(run "$p"); kill "$PID"; wait "$PID" 2>/dev/null || true
    serve redis "$mode"; read -r r_rps r_cpu < <(run "$p"); kill "$PID"; wait "$PID" 2>/dev/null || true
    awk -v m="$mode" -v p="$p" -v er="$e_rps" -v rr="$r_rps" -v ec="$e_cpu" -v rc="$r_cpu" 'BEGIN {
      printf "%-9s %-3s | %12.0f %12.0f %7.2f | %10.3f %10.3f %7.2f\n", m, p, er, rr, (rr > 0 ? er / rr : 0), ec, rc, (rc > 0 ? ec / rc : 0)
    }'
  done
done
echo "ratio = ember / redis; CPU is server CPU time per request (lower is better)."
