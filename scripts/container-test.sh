#!/usr/bin/env bash
# scripts/container-test.sh: build the Ember image with podman and check it
# behaves as a container service should:
#   build          the Dockerfile builds (podman, --pull=never: local base images)
#   stripped       the binary has no symbol table or debug info
#   size           image size: compressed (what a registry stores and pulls)
#                  < MAX_MB, and Ember's layers over debian:bookworm-slim < MAX_MB
#   start          runs with a named volume on /data, port answers PING
#   nonroot        the server runs as uid 999 (ember), not root
#   datadir        CONFIG GET dir is /data and /data is writable by it
#   health         `podman healthcheck run` (the image's HEALTHCHECK) is healthy
#   health-auth    healthy too with --requirepass (NOAUTH counts as alive)
#   sigterm        `podman stop` (SIGTERM) ends it cleanly, exit 0, well before
#                  the stop timeout
#   persist        keys written before the stop are there after a new container
#                  starts on the same volume (needs save-on-SIGTERM persistence)
#   flags          `IMAGE --maxmemory 123mb --maxmemory-policy allkeys-lru`
#                  reaches ember-server: CONFIG GET maxmemory = 128974848
#   mounted-conf   a config file mounted over /etc/ember/ember.conf is used
#   conf-arg       `IMAGE /conf/other.conf --hz 13`: that file, plus the flag
#   entrypoint     `IMAGE --version` runs ember-server, `IMAGE id -u` runs id
#   compose        docker-compose.yml (with this image, and a local redis-cli
#                  image standing in for redis:7.2-alpine): the app counts its
#                  visits in Ember by service name, appendonly is on
# Prints one PASS/FAIL line per check and a summary; exits 1 if any failed.
#
# Usage (as root, like /work/shared/tools/container/check.sh):
#   scripts/container-test.sh [REPO_DIR]
# Environment:
#   IMAGE=localhost/ember:test   tag to build        SKIP_BUILD=1  reuse IMAGE
#   MAX_MB=40                    size budget          KEEP=1        keep the volume
#   RM_IMAGE=1                   remove the image afterwards (default: keep it,
#                                and with it the layer cache)
#   COMPOSE=0                    skip the docker-compose.yml check (it runs when
#                                podman-compose and python3-yaml are installed)
#   PERSIST_ARGS="…"             extra flags for the persistence run
#                                (e.g. "--appendonly yes"; default: the built-in
#                                save points, i.e. an RDB snapshot on SIGTERM)
#   SKIP_SETUP=1                 do not run setup-base.sh first
set -uo pipefail

repo=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)
image=${IMAGE:-localhost/ember:test}
max_mb=${MAX_MB:-40}
setup=/work/shared/tools/container/setup-base.sh
tag=ember-ctest-$$
vol=$tag-data
work=$(mktemp -d "${TMPDIR:-/tmp}/ember-ctest.XXXXXX")
ctrs=()
results=()
failed=0

say() { printf '[ctest %(%H:%M:%S)T] %s\n' -1 "$*"; }
pass() { results+=("PASS $1${2:+  ($2)}"); say "PASS $1${2:+  ($2)}"; }
fail() { results+=("FAIL $1${2:+  ($2)}"); say "FAIL $1${2:+  ($2)}"; failed=1; }

cleanup() {
  local c
  for c in "${ctrs[@]}"; do podman rm -f -v -t 2 "$c" >/dev/null 2>&1 || true; done
  [ "${KEEP:-0}" = 1 ] || podman volume rm -f "$vol" >/dev/null 2>&1 || true
  if [ "${RM_IMAGE:-0}" = 1 ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
    podman rmi -f "$image" >/dev/null 2>&1 || true
  fi
  if [ -n "${compose_dir:-}" ]; then
    (cd "$compose_dir" && timeout 60 podman-compose -p "$tag" down -v) >/dev/null 2>&1 || true
    podman network rm -f "${tag}_default" >/dev/null 2>&1 || true
  fi
  # netavark (the bridge network) turns IPv4 forwarding on: put back what was there
  if [ -n "${fwd_before:-}" ] && [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$fwd_before" ]; then
    echo "$fwd_before" > /proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  fi
  rm -rf "$work"
}
summary() {
  cleanup
  echo
  echo "=== container-test summary ($image)"
  printf '%s\n' "${results[@]}"
  if [ $failed = 0 ]; then echo "container-test: PASS"; exit 0; fi
  echo "container-test: FAIL"; exit 1
}
trap 'exit 1' INT TERM
trap summary EXIT

# ---------------------------------------------------------------- helpers
in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
  local p
  for _ in $(seq 100); do p=$((20000 + RANDOM % 20000)); in_use "$p" || { echo "$p"; return; }; done
  echo 0
}
# run NAME HOST_PORT [podman run options...] -- [image arguments...]
run() {
  local name=$1 hport=$2; shift 2
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  ctrs+=("$name")
  podman run -d --name "$name" -p "127.0.0.1:$hport:6379" "${opts[@]}" "$image" "$@" \
    >"$work/$name.run" 2>&1
}
cli() { local p=$1; shift; timeout 10 redis-cli -h 127.0.0.1 -p "$p" "$@" 2>&1; }
# wait_up NAME PORT: until PING answers (PONG or NOAUTH), the container exits, or 30 s
wait_up() {
  local name=$1 p=$2 r
  for _ in $(seq 150); do
    r=$(cli "$p" PING)
    case "$r" in PONG|NOAUTH*) return 0 ;; esac
    [ "$(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 0.2
  done
  say "$name did not come up; last reply: ${r:-<none>}; logs:"
  podman logs --tail 20 "$name" 2>&1 | sed 's/^/  | /'
  return 1
}

# ---------------------------------------------------------------- tools
[ "$(id -u)" = 0 ] || { fail setup "must run as root (podman here)"; exit 1; }
if [ "${SKIP_SETUP:-0}" != 1 ] && [ -x "$setup" ]; then
  "$setup" >"$work/setup.log" 2>&1 || { tail -20 "$work/setup.log"; fail setup "setup-base.sh failed"; exit 1; }
fi
for t in podman redis-cli ss; do
  command -v "$t" >/dev/null || { fail setup "$t missing"; exit 1; }
done
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)

# ---------------------------------------------------------------- build
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building $repo -> $image"
  tb=$SECONDS
  # --format docker: the OCI format has no HEALTHCHECK, podman would drop it
  if timeout 1800 podman build --pull=never --network host --format docker \
       -t "$image" "$repo" >"$work/build.log" 2>&1; then
    pass build "$((SECONDS - tb))s"
  else
    tail -30 "$work/build.log"
    fail build "see the log above"; exit 1
  fi
fi
podman image exists "$image" || { fail build "no image $image"; exit 1; }

# ---------------------------------------------------------------- size
size=$(podman image inspect --format '{{.Size}}' "$image")
base=$(podman image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim 2>/dev/null || echo 0)
gz=$(podman save --format docker-archive "$image" 2>/dev/null | gzip -6 | wc -c)
own=$((size - base))
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }
size_note="compressed $(mb "$gz"), uncompressed $(mb "$size"), Ember's layers $(mb "$own") over the $(mb "$base") base"
if [ "$gz" -lt $((max_mb * 1000000)) ] && [ "$own" -lt $((max_mb * 1000000)) ]; then
  pass size "$size_note"
else
  fail size "$size_note; budget $max_mb MB"
fi
podman run --rm --entrypoint cat "$image" /usr/local/bin/ember-server >"$work/ember-server" 2>/dev/null
bin_size=$(wc -c <"$work/ember-server")
if [ "${bin_size:-0}" -lt 100000 ]; then
  fail stripped "cannot read /usr/local/bin/ember-server from the image (${bin_size:-0} bytes)"
elif command -v readelf >/dev/null; then
  if readelf -S "$work/ember-server" 2>/dev/null | grep -qE '\.(debug_info|symtab)'; then
    fail stripped "the binary ($(mb "$bin_size")) still has symbols or debug info"
  else
    pass stripped "binary $(mb "$bin_size"), no .symtab/.debug_*"
  fi
else
  say "binary: $(mb "$bin_size") (no readelf here to check it is stripped)"
fi

# ---------------------------------------------------------------- start with a volume
podman volume create "$vol" >/dev/null
p1=$(free_port)
c1=$tag-1
if run "$c1" "$p1" -v "$vol:/data" -- ${PERSIST_ARGS:-} && wait_up "$c1" "$p1"; then
  pass start "127.0.0.1:$p1 -> 6379, volume $vol on /data"
else
  cat "$work/$c1.run" 2>/dev/null
  fail start "see the logs above"; exit 1
fi

# ---------------------------------------------------------------- non-root
uid=$(podman exec "$c1" id -u 2>&1)
puser=$(podman top "$c1" user,args 2>/dev/null | awk 'NR > 1 && /ember-server/ { print $1; exit }')
if [ "$uid" = 999 ] && [ -n "$puser" ] && [ "$puser" != root ] && [ "$puser" != 0 ]; then
  pass nonroot "exec id -u = $uid, podman top: ember-server runs as $puser"
else
  fail nonroot "exec id -u = $uid, podman top user = ${puser:-?}"
fi

# ---------------------------------------------------------------- data dir
dir=$(cli "$p1" CONFIG GET dir | tail -1)
if [ "$dir" = /data ] && podman exec "$c1" sh -c 'touch /data/.w && rm /data/.w'; then
  pass datadir "dir=$dir, writable by uid $uid"
else
  fail datadir "dir=$dir; /data writable: no"
fi

# ---------------------------------------------------------------- health check
hc=$(podman inspect --format '{{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}' "$c1" 2>/dev/null)
hout=$(podman healthcheck run "$c1" 2>&1); hrc=$?
hstatus=$(podman inspect --format '{{.State.Health.Status}}' "$c1" 2>/dev/null)
if [ -n "$hc" ] && [ $hrc = 0 ]; then
  pass health "podman healthcheck run: exit 0${hout:+ ($hout)}, status ${hstatus:-?}; test: $hc"
else
  fail health "test: ${hc:-<none in image>}; healthcheck run exit $hrc: $hout"
fi

p2=$(free_port)
c2=$tag-auth
if run "$c2" "$p2" -- --requirepass s3cret && wait_up "$c2" "$p2"; then
  hout=$(podman healthcheck run "$c2" 2>&1); hrc=$?
  noauth=$(cli "$p2" PING)
  if [ $hrc = 0 ]; then pass health-auth "PING without password: $noauth; healthcheck exit 0"
  else fail health-auth "healthcheck exit $hrc: $hout"; fi
else
  fail health-auth "container did not start"
fi
podman rm -f -v -t 2 "$c2" >/dev/null 2>&1

# ---------------------------------------------------------------- write, SIGTERM
cli "$p1" SET greeting "hello from before the restart" >/dev/null
cli "$p1" RPUSH list a b c >/dev/null
cli "$p1" HSET user:1 name ada lang rust >/dev/null
cli "$p1" SADD tags x y z >/dev/null
cli "$p1" ZADD board 1 one 2 two >/dev/null
cli "$p1" SET n 41 >/dev/null
cli "$p1" INCR n >/dev/null
before=$(cli "$p1" DBSIZE)
ts=$SECONDS
podman stop -t 20 "$c1" >/dev/null 2>&1
stop_s=$((SECONDS - ts))
code=$(podman inspect --format '{{.State.ExitCode}}' "$c1" 2>/dev/null)
podman logs "$c1" >"$work/c1.log" 2>&1
if [ "$code" = 0 ] && [ $stop_s -lt 15 ]; then
  pass sigterm "exit $code after ${stop_s}s; last log: $(tail -1 "$work/c1.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-100)"
else
  tail -10 "$work/c1.log" | sed 's/^/  | /'
  fail sigterm "exit code ${code:-?} after ${stop_s}s (137 = killed after the timeout)"
fi
files=$(podman run --rm -v "$vol:/data" --entrypoint sh "$image" \
          -c 'cd /data && for f in * .[!.]*; do [ -e "$f" ] && echo "$f $(du -sb "$f" | cut -f1)B"; done' 2>/dev/null \
        | tr '\n' ' ')
say "files on the volume after the stop: ${files:-none}"
podman rm -f -v "$c1" >/dev/null 2>&1

# ---------------------------------------------------------------- persistence
p3=$(free_port)
c3=$tag-2
if run "$c3" "$p3" -v "$vol:/data" -- ${PERSIST_ARGS:-} && wait_up "$c3" "$p3"; then
  after=$(cli "$p3" DBSIZE)
  g=$(cli "$p3" GET greeting)
  l=$(cli "$p3" LRANGE list 0 -1 | tr '\n' ' ')
  h=$(cli "$p3" HGET user:1 lang)
  n=$(cli "$p3" GET n)
  if [ "$after" = "$before" ] && [ "$g" = "hello from before the restart" ] \
     && [ "$l" = "a b c " ] && [ "$h" = rust ] && [ "$n" = 42 ]; then
    pass persist "$after keys back after stop + new container on $vol"
  else
    fail persist "dbsize $before before, ${after:-?} after; greeting=${g:-nil} (save on SIGTERM not there yet?)"
  fi
else
  fail persist "second container did not start"
fi
podman rm -f -v -t 2 "$c3" >/dev/null 2>&1

# ---------------------------------------------------------------- flags
p4=$(free_port)
c4=$tag-flags
if run "$c4" "$p4" -- --maxmemory 123mb --maxmemory-policy allkeys-lru && wait_up "$c4" "$p4"; then
  mm=$(cli "$p4" CONFIG GET maxmemory | tail -1)
  pol=$(cli "$p4" CONFIG GET maxmemory-policy | tail -1)
  d=$(cli "$p4" CONFIG GET dir | tail -1)
  if [ "$mm" = 128974848 ] && [ "$pol" = allkeys-lru ] && [ "$d" = /data ]; then
    pass flags "maxmemory=$mm policy=$pol, default config still applied (dir=$d)"
  else
    fail flags "maxmemory=$mm policy=$pol dir=$d"
  fi
else
  fail flags "container did not start"
fi
podman rm -f -v -t 2 "$c4" >/dev/null 2>&1

# ---------------------------------------------------------------- mounted config
cat > "$work/mounted.conf" <<'EOT'
bind * -::*
port 6379
protected-mode no
dir /data
hz 17
maxmemory 7mb
EOT
chmod 644 "$work/mounted.conf"
p5=$(free_port)
c5=$tag-conf
if run "$c5" "$p5" -v "$work/mounted.conf:/etc/ember/ember.conf:ro" -- && wait_up "$c5" "$p5"; then
  hz=$(cli "$p5" CONFIG GET hz | tail -1)
  mm=$(cli "$p5" CONFIG GET maxmemory | tail -1)
  if [ "$hz" = 17 ] && [ "$mm" = 7340032 ]; then pass mounted-conf "hz=$hz maxmemory=$mm from /etc/ember/ember.conf"
  else fail mounted-conf "hz=$hz maxmemory=$mm"; fi
else
  fail mounted-conf "container did not start"
fi
podman rm -f -v -t 2 "$c5" >/dev/null 2>&1

p6=$(free_port)
c6=$tag-arg
if run "$c6" "$p6" -v "$work/mounted.conf:/conf/other.conf:ro" -- /conf/other.conf --hz 13 \
   && wait_up "$c6" "$p6"; then
  hz=$(cli "$p6" CONFIG GET hz | tail -1)
  mm=$(cli "$p6" CONFIG GET maxmemory | tail -1)
  if [ "$hz" = 13 ] && [ "$mm" = 7340032 ]; then pass conf-arg "/conf/other.conf + --hz 13: hz=$hz maxmemory=$mm"
  else fail conf-arg "hz=$hz maxmemory=$mm"; fi
else
  fail conf-arg "container did not start"
fi
podman rm -f -v -t 2 "$c6" >/dev/null 2>&1

# ---------------------------------------------------------------- entrypoint
v=$(podman run --rm --no-healthcheck "$image" --version 2>/dev/null)
u=$(podman run --rm --no-healthcheck "$image" id -u 2>/dev/null)
sv=$(podman run --rm --no-healthcheck "$image" ember-server --version 2>/dev/null)
if [[ "$v" == "Ember server v="* ]] && [[ "$sv" == "Ember server v="* ]] && [ "$u" = 999 ]; then
  pass entrypoint "--version: $v; other commands run as given (id -u = $u)"
else
  fail entrypoint "--version: $v; ember-server --version: $sv; id -u: $u"
fi

# ---------------------------------------------------------------- compose
if [ "${COMPOSE:-1}" = 1 ] && command -v podman-compose >/dev/null \
   && python3 -c 'import yaml' 2>/dev/null; then
  cli_image=localhost/ember-ctest-cli:latest
  if ! podman image exists "$cli_image"; then
    mkdir -p "$work/cli"
    printf '%s\n' 'FROM debian:bookworm-slim' \
      'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-tools >/dev/null && rm -rf /var/lib/apt/lists/*' \
      > "$work/cli/Containerfile"
    podman build -q --pull=never --network host -t "$cli_image" "$work/cli" >"$work/cli.log" 2>&1 \
      || say "cannot build $cli_image: $(tail -1 "$work/cli.log")"
  fi
  p7=$(free_port)
  compose_dir=$work/compose
  mkdir -p "$compose_dir"
  # The repository's file, with the image just built, a free host port and
  # the local redis-cli image (no registry here for redis:7.2-alpine).
  python3 - "$repo/docker-compose.yml" "$compose_dir/docker-compose.yml" "$image" "$p7" "$cli_image" <<'EOT'
import sys, yaml
src, dst, image, port, cli = sys.argv[1:]
d = yaml.safe_load(open(src))
e = d["services"]["ember"]
e.pop("build", None)
e["image"] = image
e["ports"] = [f"127.0.0.1:{port}:6379"]
d["services"]["app"]["image"] = cli
yaml.safe_dump(d, open(dst, "w"), sort_keys=False)
EOT
  if (cd "$compose_dir" && timeout 120 podman-compose -p "$tag" up -d) >"$work/compose.log" 2>&1; then
    visits=""
    for _ in $(seq 30); do
      visits=$(cli "$p7" GET visits)
      [ -n "$visits" ] && [ "$visits" -ge 2 ] 2>/dev/null && break
      sleep 1
    done
    aof=$(cli "$p7" CONFIG GET appendonly | tail -1)
    mp=$(cli "$p7" CONFIG GET maxmemory-policy | tail -1)
    if [ "${visits:-0}" -ge 2 ] 2>/dev/null && [ "$aof" = yes ] && [ "$mp" = allkeys-lru ]; then
      pass compose "app INCRed visits to $visits via ember:6379; appendonly=$aof policy=$mp"
    else
      (cd "$compose_dir" && podman-compose -p "$tag" logs) 2>&1 | tail -10 | sed 's/^/  | /'
      fail compose "visits=${visits:-nil} appendonly=$aof policy=$mp"
    fi
  else
    tail -10 "$work/compose.log"
    fail compose "podman-compose up failed"
  fi
else
  say "skipping the compose check (COMPOSE=0, or no podman-compose / python3-yaml)"
fi
