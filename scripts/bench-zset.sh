#!/usr/bin/env bash
# A 1,000,000-member leaderboard in Ember and in a real redis-server, side by
# side on this machine.
#
#   scripts/bench-zset.sh [members] [requests]   (defaults 1000000, 200000)
#
# For each server (pinned to CPU 0; clients on CPU 1): load `members` members
# "m:%012d" with scores 0..members-1 through `redis-cli --pipe` (1000 pairs
# per ZADD) and report the load time and the RSS / used_memory growth per
# member; then run redis-benchmark (50 clients, pipeline 1) for ZADD of random
# members, ZREVRANGE lb 0 9 WITHSCORES, ZRANK and ZINCRBY, at pipeline 1 and
# 16, reporting
# throughput and server CPU microseconds per request (utime+stime from
# /proc/PID/stat). Ratios are ember/redis. A benchmark, never a test.
set -euo pipefail
cd "$(dirname "$0")/.."

M=${1:-1000000}
N=${2:-200000}
EMBER_PORT=${EMBER_PORT:-7379}
REDIS_PORT=${REDIS_PORT:-7380}
for tool in redis-server redis-benchmark redis-cli taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
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
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }

# The load as RESP: ZADD lb s m:s ... with 1000 pairs per command.
LOAD=$(mktemp)
awk -v m="$M" 'BEGIN {
  for (i = 0; i < m; i += 1000) {
    n = (m - i < 1000) ? m - i : 1000
    printf "*%d\r\n$4\r\nZADD\r\n$2\r\nlb\r\n", 2 + 2 * n
    for (j = i; j < i + n; j++) {
      s = sprintf("%d", j); mem = sprintf("m:%012d", j)
      printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(s), s, length(mem), mem
    }
  }
}' > "$LOAD"

# load PID PORT -> "seconds bytes_rss_per_member bytes_used_per_member"
load() {
  local pid=$1 port=$2 r0 u0 t0 t1
  r0=$(rss_kb "$pid"); u0=$(used "$port"); t0=$(date +%s.%N)
  taskset -c 1 redis-cli -p "$port" --pipe < "$LOAD" >/dev/null
  t1=$(date +%s.%N)
  sleep 1
  awk -v t0="$t0" -v t1="$t1" -v r0="$r0" -v r1="$(rss_kb "$pid")" -v u0="$u0" -v u1="$(used "$port")" -v m="$M" \
    'BEGIN {printf "%.2f %.1f %.1f\n", t1 - t0, (r1 - r0) * 1024 / m, (u1 - u0) / m}'
}

# bench PID PORT ARGS... -> "rps cpu_us_per_request"
bench() {
  local pid=$1 port=$2 before after rps
  shift 2
  before=$(cpu_ticks "$pid")
  rps=$(taskset -c 1 redis-benchmark -p "$port" -n "$N" -c 50 -r "$M" -q "$@" 2>/dev/null \
        | tr '\r' '\n' | awk '/requests per second/ {for (i = 2; i <= NF; i++) if ($i == "requests") print $(i - 1)}' | tail -1)
  after=$(cpu_ticks "$pid")
  echo "$rps $(awk -v d=$((after - before)) -v n="$N" -v hz="$TICK" 'BEGIN {printf "%.3f", d * 1e6 / hz / n}')"
}

read -r e_s e_rss e_used < <(load "$EPID" "$EMBER_PORT")
read -r r_s r_rss r_used < <(load "$RPID" "$REDIS_PORT")
echo "load of $M members: ember ${e_s}s, redis ${r_s}s"
awk -v a="$e_rss" -v b="$r_rss" -v c="$e_used" -v d="$r_used" 'BEGIN {
  printf "bytes per member: RSS ember %.1f redis %.1f (ratio %.2f); used_memory ember %.1f redis %.1f (ratio %.2f)\n", a, b, a / b, c, d, c / d }'
echo "ZCARD: ember $(redis-cli -p "$EMBER_PORT" zcard lb), redis $(redis-cli -p "$REDIS_PORT" zcard lb)"

printf '%-22s %-3s | %10s %10s %6s | %9s %9s %6s\n' command P "ember rps" "redis rps" ratio "ember us" "redis us" ratio
for P in 1 16; do
while IFS='|' read -r name cmd; do
  # shellcheck disable=SC2086
  read -r e_rps e_cpu < <(bench "$EPID" "$EMBER_PORT" -P "$P" $cmd)
  # shellcheck disable=SC2086
  read -r r_rps r_cpu < <(bench "$RPID" "$REDIS_PORT" -P "$P" $cmd)
  awk -v t="$name" -v p="$P" -v er="$e_rps" -v rr="$r_rps" -v ec="$e_cpu" -v rc="$r_cpu" 'BEGIN {
    printf "%-22s %-3s | %10.0f %10.0f %6.2f | %9.3f %9.3f %6.2f\n", t, p, er, rr, (rr > 0 ? er / rr : 0), ec, rc, (rc > 0 ? ec / rc : 0) }'
done <<'EOF'
ZADD random member|ZADD lb __rand_int__ m:__rand_int__
ZREVRANGE top 10|ZREVRANGE lb 0 9 WITHSCORES
ZRANK|ZRANK lb m:__rand_int__
ZINCRBY|ZINCRBY lb 1 m:__rand_int__
EOF
done
rm -f "$LOAD"
echo "ratio = ember / redis; CPU is server CPU time per request (lower is better)."
