#!/usr/bin/env bash
# Run units of Redis's own test suite (tests/ of a Redis source tree, Tcl)
# against Ember, in the suite's external-server mode.
#
#   scripts/redis-suite.sh /path/to/redis [unit ...]
#   (a unit is tests/unit/<unit>.tcl, or integration/<name>; default
#    units: type/incr type/string keyspace expire type/zset type/list
#    type/hash type/set scan sort bitops bitfield protocol multi pubsub
#    tracking scripting functions dump info-command latency-monitor)
#
# The Redis tree is only read; get one with `git clone -b 7.2.4
# https://github.com/redis/redis`. Each unit runs against a fresh Ember
# (release build, port 7400) with `--tags -needs:debug -needs:repl` (REPL=1
# keeps the needs:repl tests, which read the replication stream with
# SYNC), since not every DEBUG subcommand the suite uses
# (QUICKLIST-PACKED-THRESHOLD, LISTPACK, STRINGMATCH-LEN...; SPAWN mode
# below runs the needs:debug tests). Needs
# tclsh. Prints ok/err per unit and the failed tests; logs stay in
# $OUT_DIR (default /tmp/redis-suite). A compatibility report, not a test:
# some failures are features Ember does not have (streams, GEO, MODULE).
#
# SPAWN=1: the suite's own mode instead, where the harness starts a server
# per test group from its config files (units marked external:skip run
# too: acl, info, maxmemory, introspection...). The tests are copied to
# $OUT_DIR/tree, whose src/redis-server starts Ember (without the Unix
# socket the harness configures: Ember has none).
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS=${1:?usage: scripts/redis-suite.sh /path/to/redis [unit ...]}
shift
UNITS=("$@")
# The needs:repl tests (they read the replication stream with SYNC) run
# with REPL=1.
if [ "${REPL:-0}" = 1 ]; then NOREPL=(); else NOREPL=(--tags -needs:repl); fi
[ ${#UNITS[@]} -gt 0 ] || UNITS=(type/incr type/string keyspace expire type/zset type/list type/hash
  type/set scan sort bitops bitfield protocol multi pubsub tracking scripting functions dump
  info-command latency-monitor)
PORT=${PORT:-7400}
read -r -a EXTRA <<<"${EXTRA:-}"  # more runtest options, e.g. EXTRA="--skiptest /GEO"
OUT_DIR=${OUT_DIR:-/tmp/redis-suite}
# `type/list` is tests/unit/type/list.tcl; `integration/rdb` is as given.
test_path() { case "$1" in integration/*) echo "$1" ;; *) echo "unit/$1" ;; esac; }
command -v tclsh >/dev/null || { echo "missing tclsh (apt-get install tcl)" >&2; exit 1; }
[ -x "$REDIS/runtest" ] || { echo "$REDIS/runtest not found" >&2; exit 1; }
cargo build --release --quiet --bin ember-server
mkdir -p "$OUT_DIR"
trap 'kill "${EPID:-}" 2>/dev/null || true' EXIT

if [ -n "${SPAWN:-}" ]; then
  TREE="$OUT_DIR/tree"
  rm -rf "$TREE" && mkdir -p "$TREE/src"
  cp -r "$REDIS/tests" "$REDIS/runtest" "$TREE/"
  [ -d "$REDIS/src/commands" ] && cp -r "$REDIS/src/commands" "$TREE/src/"
  EMBER=$(pwd)/target/release/ember-server
  cat >"$TREE/src/redis-server" <<WRAP
#!/bin/sh
# The harness waits for " PID: <pid>" (and Ember's "Server initialized").
echo " PID: \$\$"
# Started without a config file (\`redis-server --port 1234\`): as it is.
case "\${1:-}" in -*|"") exec "$EMBER" "\$@" ;; esac
conf="\$1"; shift
# A copy newer than the file holds a CONFIG REWRITE: a restart keeps it.
if [ ! -e "\$conf.ember" ] || [ "\$conf" -nt "\$conf.ember" ]; then
  grep -v '^unixsocket' "\$conf" > "\$conf.ember"
fi
exec "$EMBER" "\$conf.ember" "\$@"
WRAP
  chmod +x "$TREE/src/redis-server"
  for t in redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    ln -sf "$(command -v $t)" "$TREE/src/$t"
  done
  for unit in "${UNITS[@]}"; do
    log="$OUT_DIR/$(echo "$unit" | tr / _).log"
    (cd "$TREE" && timeout 900 ./runtest --single "$(test_path "$unit")" --clients 1 \
      ${NOREPL[@]+"${NOREPL[@]}"} ${EXTRA[@]+"${EXTRA[@]}"}) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log" || true
    printf '%-18s ok=%-4s err=%-3s exception=%s\n' "$unit" "$(grep -c '^\[ok\]' "$log" || true)" \
      "$(grep -c '^\[err\]' "$log" || true)" "$(grep -c '^\[exception\]' "$log" || true)"
    grep '^\[err\]\|^\[exception\]' "$log" | sed 's/^/    /' || true
  done
  exit 0
fi

for unit in "${UNITS[@]}"; do
  if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
    echo "something already answers on port $PORT: stop it or set PORT" >&2
    exit 1
  fi
  rm -rf "$OUT_DIR/data" && mkdir -p "$OUT_DIR/data"  # BGSAVE tests write here, not in the tree
  ./target/release/ember-server --port "$PORT" --save "" --dir "$OUT_DIR/data" --enable-debug-command yes \
    --enable-protected-configs yes \
    --loglevel warning >"$OUT_DIR/ember.log" 2>&1 &
  EPID=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  log="$OUT_DIR/$(echo "$unit" | tr / _).log"
  (cd "$REDIS" && timeout 600 ./runtest --host 127.0.0.1 --port "$PORT" --single "$(test_path "$unit")" \
    --clients 1 --tags "-needs:debug${NOREPL[0]:+ -needs:repl}" --durable ${EXTRA[@]+"${EXTRA[@]}"}) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$log" || true
  printf '%-18s ok=%-4s err=%-3s exception=%s\n' "$unit" "$(grep -c '^\[ok\]' "$log" || true)" \
    "$(grep -c '^\[err\]' "$log" || true)" "$(grep -c '^\[exception\]' "$log" || true)"
  grep '^\[err\]\|^\[exception\]' "$log" | sed 's/^/    /' || true
  kill "$EPID" 2>/dev/null || true
  wait "$EPID" 2>/dev/null || true
  EPID=
done
