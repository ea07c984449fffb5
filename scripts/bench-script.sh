#!/usr/bin/env bash
# Scripting: Ember vs a real redis-server, side by side, with redis-benchmark.
#
#   scripts/bench-script.sh [requests]   (default 200000 per test)
#
# Two scripts that real deployments run on every request, by EVALSHA:
#   ratelimit  INCR a counter, EXPIRE it on first use, return the count
#   lock       release a lock only if it holds our token (GET + DEL)
# Each server runs pinned to CPU 0 and redis-benchmark to CPU 1, 50 clients,
# pipeline 1 and 16; server CPU time per request comes from /proc/PID/stat,
# as in scripts/bench.sh. Only ratios mean anything on a shared machine.
# A benchmark, never a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-200000}
EMBER_PORT=${EMBER_PORT:-7379}
REDIS_PORT=${REDIS_PORT:-7380}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools util-linux)" >&2; exit 1; }
done
cargo build --release --quiet --bin ember-server
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

. scripts/bench-lua-workloads.sh
declare -A SHA
for p in "$EMBER_PORT" "$REDIS_PORT"; do
  SHA[rate]=$(redis-cli -p "$p" script load "$RATE")
  SHA[lock]=$(redis-cli -p "$p" script load "$LOCK")
  redis-cli -p "$p" set lock:1 other >/dev/null
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run PID PORT PIPELINE ARGS... -> "rps cpu_us_per_request"
run() {
  local pid=$1 port=$2 p=$3 before after rps
  shift 3
  before=$(cpu_ticks "$pid")
  rps=$(taskset -c 1 redis-benchmark -p "$port" -n "$N" -c 50 -P "$p" -r 100000 -q "$@" 2>/dev/null \
        | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  after=$(cpu_ticks "$pid")
  echo "$rps $(awk -v d=$((after - before)) -v n="$N" -v hz="$TICK" 'BEGIN {printf "%.3f", d * 1e6 / hz / n}')"
}

printf '%-9s %-3s | %12s %12s %7s | %10s %10s %7s\n' test P "ember rps" "redis rps" ratio "ember us" "redis us" ratio
printf -- '-%.0s' $(seq 83); echo
for p in 1 16; do
  for t in rate lock; do
    case $t in
      rate) args=(EVALSHA "${SHA[rate]}" 1 "rl:__rand_int__") name=ratelimit ;;
      lock) args=(EVALSHA "${SHA[lock]}" 1 lock:1 mytoken) name=lock ;;
    esac
    read -r e_rps e_cpu < <(run "$EPID" "$EMBER_PORT" "$p" "${args[@]}")
    read -r r_rps r_cpu < <(run "$RPID" "$REDIS_PORT" "$p" "${args[@]}")
    awk -v t="$name" -v p="$p" -v er="$e_rps" -v rr="$r_rps" -v ec="$e_cpu" -v rc="$r_cpu" 'BEGIN {
      printf "%-9s %-3s | %12.0f %12.0f %7.2f | %10.3f %10.3f %7.2f\n", t, p, er, rr, (rr > 0 ? er / rr : 0), ec, rc, (rc > 0 ? ec / rc : 0)
    }'
  done
done
echo "ratio = ember / redis; CPU is server CPU time per request (lower is better)."
