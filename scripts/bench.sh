#!/usr/bin/env bash
# Ember vs a real redis-server on this machine, side by side, with redis-benchmark.
#
#   scripts/bench.sh [requests]        (default 300000 per test)
#
# Each server runs pinned to CPU 0 and redis-benchmark to CPU 1 (taskset), one
# server at a time, 50 clients, pipeline 1 and 16, for SET GET INCR. For every
# run it reads the server's CPU time (utime+stime in /proc/PID/stat) before and
# after, and prints throughput and server CPU microseconds per request, then
# the ratios ember/redis. On a 2-core machine redis-benchmark saturates its own
# core, so throughput ratios flatten near 1.0: CPU per request is the figure
# that shows efficiency. This is a benchmark, never a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-300000}
TESTS=(set get incr)
PIPES=(1 16)
EMBER_PORT=${EMBER_PORT:-7379}
REDIS_PORT=${REDIS_PORT:-7380}
for tool in redis-server redis-benchmark taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools util-linux)" >&2; exit 1; }
done
cargo build --release --quiet
TICK=$(getconf CLK_TCK)

cleanup() { kill "${EPID:-}" "${RPID:-}" 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 0 ./target/release/ember-server --port "$EMBER_PORT" --save "" --loglevel warning >/dev/null 2>&1 &
EPID=$!
taskset -c 0 redis-server --port "$REDIS_PORT" --save "" --appendonly no --loglevel warning >/dev/null 2>&1 &
RPID=$!
for p in "$EMBER_PORT" "$REDIS_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run PID PORT TEST PIPELINE -> "rps cpu_us_per_request"
run() {
  local pid=$1 port=$2 t=$3 p=$4 before after rps
  before=$(cpu_ticks "$pid")
  rps=$(taskset -c 1 redis-benchmark -p "$port" -t "$t" -n "$N" -c 50 -P "$p" -q 2>/dev/null \
        | tr '\r' '\n' | awk '/requests per second/ {print $2}' | tail -1)
  after=$(cpu_ticks "$pid")
  echo "$rps $(awk -v d=$((after - before)) -v n="$N" -v hz="$TICK" 'BEGIN {printf "%.3f", d * 1e6 / hz / n}')"
}

printf '%-6s %-3s | %12s %12s %7s | %10s %10s %7s\n' test P "ember rps" "redis rps" ratio "ember us" "redis us" ratio
printf -- '-%.0s' $(seq 80); echo
for p in "${PIPES[@]}"; do
  for t in "${TESTS[@]}"; do
    read -r e_rps e_cpu < <(run "$EPID" "$EMBER_PORT" "$t" "$p")
    read -r r_rps r_cpu < <(run "$RPID" "$REDIS_PORT" "$t" "$p")
    awk -v t="$t" -v p="$p" -v er="$e_rps" -v rr="$r_rps" -v ec="$e_cpu" -v rc="$r_cpu" 'BEGIN {
      printf "%-6s %-3s | %12.0f %12.0f %7.2f | %10.3f %10.3f %7.2f\n", t, p, er, rr, (rr > 0 ? er / rr : 0), ec, rc, (rc > 0 ? ec / rc : 0)
    }'
  done
done
echo "ratio = ember / redis; CPU is server CPU time per request (lower is better)."
