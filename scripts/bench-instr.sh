#!/usr/bin/env bash
# User-space instructions per request, Ember against redis-server, counted by
# valgrind's callgrind: unlike CPU time on a shared machine, the count does
# not move from run to run, so it shows what a change to the request path
# saves.
#
#   scripts/bench-instr.sh [requests] [tests] [pipelines]
#   (defaults 40000, "get set incr zadd", "1 16")
#
# Besides redis-benchmark's -t tests, two scripts run by EVALSHA as in
# scripts/bench-script.sh: "ratelimit" (INCR, EXPIRE on first use) and
# "lock" (GET, DEL if the token matches).
#
# Each server runs under callgrind with instrumentation off; redis-benchmark
# (50 clients, random keys from 100,000) warms it with 5,000 requests, then
# instrumentation is switched on for `requests` requests and off again. The
# total instruction count divided by the requests is printed with the ratio
# ember/redis. System-call work inside the kernel is not counted (see
# scripts/bench-floor.sh for that share). A benchmark, never a test.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-40000}
read -r -a TESTS <<<"${2:-get set incr zadd}"
read -r -a PIPES <<<"${3:-1 16}"
PORT=${PORT:-7392}
EMBER_BIN=${EMBER_BIN:-./target/release/ember-server}  # e.g. an older build to compare with
ONLY=${ONLY:-}                                        # "ember" or "redis": count one server only
for tool in valgrind callgrind_control callgrind_annotate redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install valgrind redis-server redis-tools)" >&2; exit 1; }
done
cargo build --release --quiet --bin ember-server
. scripts/bench-lua-workloads.sh
OUT=$(mktemp -d)
trap 'kill "${VPID:-}" 2>/dev/null || true; rm -rf "$OUT"' EXIT

# count SERVER TEST PIPELINE -> instructions per request
count() {
  local server=$1 t=$2 p=$3 f="$OUT/cg.$1.$2.$3"
  if [ "$server" = ember ]; then
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$f" \
      "$EMBER_BIN" --port "$PORT" --save "" --loglevel warning --worker-threads 1 >/dev/null 2>&1 &
  else
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$f" \
      redis-server --port "$PORT" --save "" --appendonly no >/dev/null 2>&1 &
  fi
  VPID=$!
  local up=
  for _ in $(seq 300); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.2; done
  [ -n "$up" ] || { echo "$server did not start under valgrind" >&2; exit 1; }
  local load=(-t "$t") sha
  case $t in
    ratelimit)
      sha=$(redis-cli -p "$PORT" script load "$RATE")
      load=(EVALSHA "$sha" 1 "rl:__rand_int__") ;;
    lock)
      sha=$(redis-cli -p "$PORT" script load "$LOCK")
      redis-cli -p "$PORT" set lock:1 other >/dev/null
      load=(EVALSHA "$sha" 1 lock:1 mytoken) ;;
  esac
  redis-benchmark -p "$PORT" -n 5000 -c 50 -P "$p" -r 100000 -q "${load[@]}" >/dev/null 2>&1
  callgrind_control -i on "$VPID" >/dev/null 2>&1
  redis-benchmark -p "$PORT" -n "$N" -c 50 -P "$p" -r 100000 -q "${load[@]}" >/dev/null 2>&1
  callgrind_control -i off "$VPID" >/dev/null 2>&1
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 1
  kill "$VPID"
  wait "$VPID" 2>/dev/null || true
  VPID=
  # the dump holds the counted span; the file written at exit holds nothing
  local dump
  dump=$(ls -S "$f"* | head -1)
  callgrind_annotate "$dump" 2>/dev/null | awk -v n="$N" '/PROGRAM TOTALS/ {gsub(",", "", $1); printf "%.0f\n", $1 / n}'
}

printf '%-9s %-3s | %12s %12s %7s\n' test P "ember Ir/req" "redis Ir/req" ratio
printf -- '-%.0s' $(seq 51); echo
for p in "${PIPES[@]}"; do
  for t in "${TESTS[@]}"; do
    e=1 r=1
    [ "$ONLY" = redis ] || e=$(count ember "$t" "$p")
    [ "$ONLY" = ember ] || r=$(count redis "$t" "$p")
    awk -v t="$t" -v p="$p" -v e="$e" -v r="$r" 'BEGIN {printf "%-9s %-3s | %12d %12d %7.2f\n", t, p, e, r, e / r}'
  done
done
echo "Ir/req: user-space instructions per request (callgrind); ratio = ember / redis."
