#!/usr/bin/env bash
# How much of a request's server CPU time is the kernel's, on this machine.
#
#   scripts/bench-floor.sh [requests] [rounds]    (default 1000000, 3)
#
# Runs the same redis-benchmark load as scripts/bench.sh (50 clients, SET GET
# INCR, pipeline 1 and 16, server on CPU 0, client on CPU 1) against three
# servers in turn: Ember, redis-server, and examples/floor_server.rs, which
# makes the same system calls as both but does no work (canned replies, no
# data). For each it prints server CPU microseconds per request split into
# user and system time (/proc/PID/stat), the median over the rounds, and the
# ratios to Redis. The floor's ratio is the lowest CPU-per-request ratio any
# server using one read and one write per batch can reach here. This is a
# benchmark, never a pass/fail test; only ratios mean anything on a shared
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
ROUNDS=${2:-3}
TESTS=(set get incr)
PIPES=(1 16)
EMBER_PORT=${EMBER_PORT:-7379}
REDIS_PORT=${REDIS_PORT:-7380}
FLOOR_PORT=${FLOOR_PORT:-7381}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools util-linux)" >&2; exit 1; }
done
cargo build --release --quiet --bin ember-server --example floor_server
TICK=$(getconf CLK_TCK)

cleanup() { kill "${EPID:-}" "${RPID:-}" "${FPID:-}" 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 0 ./target/release/ember-server --port "$EMBER_PORT" --save "" --loglevel warning >/dev/null 2>&1 &
EPID=$!
taskset -c 0 redis-server --port "$REDIS_PORT" --save "" --appendonly no --loglevel warning >/dev/null 2>&1 &
RPID=$!
taskset -c 0 ./target/release/examples/floor_server "$FLOOR_PORT" >/dev/null 2>&1 &
FPID=$!
for p in "$EMBER_PORT" "$REDIS_PORT" "$FLOOR_PORT"; do
  up=
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
  [ -n "$up" ] || { echo "server on port $p did not start" >&2; exit 1; }
done

# run PID PORT TEST PIPELINE -> "user_us sys_us" per request
run() {
  local pid=$1 port=$2 t=$3 p=$4 u1 s1 u2 s2
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  taskset -c 1 redis-benchmark -p "$port" -t "$t" -n "$N" -c 50 -P "$p" -q >/dev/null 2>&1
  read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  awk -v u=$((u2 - u1)) -v s=$((s2 - s1)) -v n="$N" -v hz="$TICK" \
    'BEGIN {printf "%.3f %.3f\n", u * 1e6 / hz / n, s * 1e6 / hz / n}'
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf '%-5s %-3s | %-17s | %-17s | %-17s | %6s %6s\n' test P "ember user+sys" "redis user+sys" "floor user+sys" ember floor
printf '%-5s %-3s | %-17s | %-17s | %-17s | %6s %6s\n' "" "" "(us/request)" "" "" "/redis" "/redis"
printf -- '-%.0s' $(seq 86); echo
for p in "${PIPES[@]}"; do
  for t in "${TESTS[@]}"; do
    # warm each server for this test, then interleave the rounds
    for port in "$EMBER_PORT" "$REDIS_PORT" "$FLOOR_PORT"; do
      taskset -c 1 redis-benchmark -p "$port" -t "$t" -n 100000 -c 50 -P "$p" -q >/dev/null 2>&1
    done
    : >/tmp/bench-floor.$$
    for _ in $(seq "$ROUNDS"); do
      echo "e $(run "$EPID" "$EMBER_PORT" "$t" "$p")" >>/tmp/bench-floor.$$
      echo "r $(run "$RPID" "$REDIS_PORT" "$t" "$p")" >>/tmp/bench-floor.$$
      echo "f $(run "$FPID" "$FLOOR_PORT" "$t" "$p")" >>/tmp/bench-floor.$$
    done
    declare -A U S T
    for w in e r f; do
      U[$w]=$(awk -v w=$w '$1 == w {print $2}' /tmp/bench-floor.$$ | median)
      S[$w]=$(awk -v w=$w '$1 == w {print $3}' /tmp/bench-floor.$$ | median)
      T[$w]=$(awk -v w=$w '$1 == w {print $2 + $3}' /tmp/bench-floor.$$ | median)
    done
    awk -v t="$t" -v p="$p" -v eu="${U[e]}" -v es="${S[e]}" -v et="${T[e]}" \
      -v ru="${U[r]}" -v rs="${S[r]}" -v rt="${T[r]}" -v fu="${U[f]}" -v fs="${S[f]}" -v ft="${T[f]}" 'BEGIN {
      printf "%-5s %-3s | %7.3f + %7.3f | %7.3f + %7.3f | %7.3f + %7.3f | %6.2f %6.2f\n",
        t, p, eu, es, ru, rs, fu, fs, et / rt, ft / rt
    }'
  done
done
rm -f /tmp/bench-floor.$$
echo "ratios are medians of total CPU per request over $ROUNDS rounds, divided by Redis's."
