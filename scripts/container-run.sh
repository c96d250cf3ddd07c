#!/usr/bin/env bash
# Checks the submission as the contest runs it, in real containers (podman, no registry): builds
# every image (scripts/container-images.sh), starts the two processors as containers on the
# external network `payment-processor` (published on 127.0.0.1:8001/8002, as the organizers'
# compose does), starts deploy/compose/docker-compose.yml with podman-compose, runs
# `rinhactl load` against the published :9999, prints the score table and, per service, what
# its cgroup saw: peak memory charged against its limit, CPU throttling, OOM kills, restarts.
# Always takes everything down again. Run it before sending a submission.
# Exit status: the load tool's, or 1 when a service was OOM-killed, restarted or charged more
# than HEADROOM_PCT of its memory limit.
#
# Environment (all optional):
#   PROFILE=final|preview   test shape and processor fees (default final)
#   LB_PORT=9999            host port for the submission on 127.0.0.1 (a free one if taken)
#   BUILD_DIR=build         where bin/rinhactl is built
#   RUN_DIR=run/containers  logs, the derived compose file, results
#   TOKEN=123               the processors' admin token
#   LOAD_ARGS="..."         extra arguments for `rinhactl load` (default --realtime)
#   HEADROOM_PCT=80         most of its memory limit a service may be charged
#   EMU_PORTS="8001 8002"   the processors' host ports on 127.0.0.1
#   RINHACTL=path           a built rinhactl: skips installing and building (the tests)
# Steps alone (the container test uses them): `container-run.sh up` builds and starts
# everything, waits for the readiness gate and writes RUN_DIR/containers.env (LB_URL,
# DEFAULT_URL, FALLBACK_URL); `container-run.sh stats` prints the per-service table (exit 1 on
# an OOM kill, a restart or a service over HEADROOM_PCT); `container-run.sh down` removes every
# container, volume and network of a run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh

PROFILE=${PROFILE:-final}
BUILD_DIR=${BUILD_DIR:-build}
RUN_DIR=${RUN_DIR:-run/containers}
TOKEN=${TOKEN:-123}
HEADROOM_PCT=${HEADROOM_PCT:-80}
PROJECT=rinha-ct
case "$PROFILE" in
  final) FEE_DEFAULT=0.07; FEE_FALLBACK=0.10 ;;
  preview) FEE_DEFAULT=0.05; FEE_FALLBACK=0.15 ;;
  *) echo "container-run: PROFILE is final or preview" >&2; exit 2 ;;
esac
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
COMPOSE_FILE=$RUN_DIR/docker-compose.yml
SERVICES=(haproxy api1 api2 worker postgres)

compose() { podman-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

take_down() {
  local label=label=io.podman.compose.project=$PROJECT
  {
    # Stop gracefully, then remove the containers with their anonymous volumes (PostgreSQL's
    # data: podman-compose's `down -v` leaves those), then networks and named volumes.
    podman ps -q --filter "$label" | xargs -r podman stop -t 10
    podman ps -aq --filter "$label" | xargs -r podman rm -f -v
    podman rm -f -v -t 5 payment-processor-default payment-processor-fallback
    [ -f "$COMPOSE_FILE" ] && compose down -v
    podman network ls -q --filter "$label" | xargs -r podman network rm -f
    podman volume ls -q --filter "$label" | xargs -r podman volume rm -f
    podman volume rm -f "${PROJECT}_rinha-run"
    podman network rm -f payment-processor
  } >"$RUN_DIR/down.log" 2>&1 || true
}
ACTION=${1:-run}
case "$ACTION" in
  run | up | stats) ;;
  down) take_down; exit 0 ;;
  *) echo "usage: $0 [run|up|stats|down]" >&2; exit 2 ;;
esac

port_taken() { ss -Htln "sport = :$1" | grep -q .; }

# Per service: the cgroup directories podman made for its container (cgroup v2 where mounted,
# else v1's memory and cpu controllers), found through the container's main process.
CGROUP_V2=""
[ -f /sys/fs/cgroup/cgroup.controllers ] && CGROUP_V2=1
cgroup_of() {  # service -> "memdir cpudir", or nothing when the container is not running
  local pid line m c
  pid=$(podman inspect --format '{{.State.Pid}}' "${PROJECT}_$1_1" 2>/dev/null || echo 0)
  [ "$pid" != 0 ] && [ -r "/proc/$pid/cgroup" ] || return 0
  if [ -n "$CGROUP_V2" ]; then
    line=$(grep '^0::' "/proc/$pid/cgroup"); m=/sys/fs/cgroup${line#0::}; c=$m
  else
    line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$pid/cgroup"); m=/sys/fs/cgroup/memory${line##*:}
    line=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' "/proc/$pid/cgroup"); c=/sys/fs/cgroup/cpu${line##*:}
  fi
  echo "$m $c"
}
stat_of() { awk -v k="$1" '$1 == k {print $2; found=1; exit} END {if (!found) print 0}' "$2" 2>/dev/null || echo 0; }
# "periods throttled throttled_ns" of a cpu cgroup directory.
cpu_counters() {
  local t
  if [ -n "$CGROUP_V2" ]; then t=$(( $(stat_of throttled_usec "$1/cpu.stat") * 1000 )); else t=$(stat_of throttled_time "$1/cpu.stat"); fi
  echo "$(stat_of nr_periods "$1/cpu.stat") $(stat_of nr_throttled "$1/cpu.stat") $t"
}
# Memory in use minus the inactive file cache (what `docker stats` shows): the part the kernel
# cannot simply drop when the service reaches its limit.
working_set() {
  local u i
  if [ -n "$CGROUP_V2" ]; then u=$(cat "$1/memory.current"); i=$(stat_of inactive_file "$1/memory.stat")
  else u=$(cat "$1/memory.usage_in_bytes"); i=$(stat_of total_inactive_file "$1/memory.stat"); fi
  echo $(( u - i ))
}
# Throttling counters at the start of the load, so that the table can tell start-up (initdb at
# 0.2 CPU) from the run itself.
snapshot_cpu() {
  local s dirs
  for s in "${SERVICES[@]}"; do
    dirs=$(cgroup_of "$s"); [ -n "$dirs" ] || continue
    echo "$s $(cpu_counters "${dirs#* }")"
  done >"$RUN_DIR/cpu-at-load-start"
}
# Samples each service's working set once a second into RUN_DIR/ws-peak until killed.
sample_working_sets() {
  local -A peak=() dir=()
  local s d w
  for s in "${SERVICES[@]}"; do d=$(cgroup_of "$s"); dir[$s]=${d%% *}; peak[$s]=0; done
  while sleep 1; do
    for s in "${SERVICES[@]}"; do
      [ -n "${dir[$s]}" ] || continue
      w=$(working_set "${dir[$s]}" 2>/dev/null) || continue
      [ "$w" -gt "${peak[$s]}" ] && peak[$s]=$w
    done
    for s in "${SERVICES[@]}"; do echo "$s ${peak[$s]}"; done >"$RUN_DIR/ws-peak.tmp"
    mv "$RUN_DIR/ws-peak.tmp" "$RUN_DIR/ws-peak"
  done
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
print_stats() {
  local bad=0 s dirs m c restarts oomflag peak limit oom quota period pct cpus mark ws
  local p0 t0 n0 p1 t1 n1
  printf '\n%-9s %9s %8s %9s %5s %5s %9s %9s %8s %9s %9s %4s %8s\n' service peak_MiB ws_MiB \
    limit_MiB used% cpus periods throttled thr_s start_thr start_thr_s oom restarts
  for s in "${SERVICES[@]}"; do
    dirs=$(cgroup_of "$s")
    if [ -z "$dirs" ]; then printf '%-9s not running\n' "$s"; bad=1; continue; fi
    m=${dirs%% *}; c=${dirs#* }
    restarts=$(podman inspect --format '{{.RestartCount}}' "${PROJECT}_${s}_1")
    oomflag=$(podman inspect --format '{{.State.OOMKilled}}' "${PROJECT}_${s}_1")
    if [ -n "$CGROUP_V2" ]; then
      peak=$(cat "$m/memory.peak" 2>/dev/null || echo 0); limit=$(cat "$m/memory.max")
      oom=$(stat_of oom_kill "$m/memory.events"); read -r quota period <"$c/cpu.max"
    else
      peak=$(cat "$m/memory.max_usage_in_bytes"); limit=$(cat "$m/memory.limit_in_bytes")
      oom=$(stat_of oom_kill "$m/memory.oom_control")
      quota=$(cat "$c/cpu.cfs_quota_us"); period=$(cat "$c/cpu.cfs_period_us")
    fi
    read -r p1 t1 n1 <<<"$(cpu_counters "$c")"
    read -r _ p0 t0 n0 <<<"$(grep "^$s " "$RUN_DIR/cpu-at-load-start" 2>/dev/null || echo "$s 0 0 0")"
    ws=$(awk -v k="$s" '$1 == k {print $2}' "$RUN_DIR/ws-peak" 2>/dev/null || true)
    pct=$(( peak * 100 / limit ))
    cpus=$(awk -v q="$quota" -v p="$period" 'BEGIN { if (q == "max" || q < 0) print "-"; else printf "%.2f", q / p }')
    mark=""
    if [ "$oom" != 0 ] || [ "$oomflag" = true ] || [ "$restarts" != 0 ]; then mark=" <- killed/restarted"; bad=1; fi
    if [ "$pct" -gt "$HEADROOM_PCT" ]; then mark="$mark <- over ${HEADROOM_PCT} % of its limit"; bad=1; fi
    printf '%-9s %9s %8s %9s %4d%% %5s %9s %9s %8.3f %9s %11.3f %4s %8s%s\n' "$s" "$(mib "$peak")" \
      "$( [ -n "$ws" ] && mib "$ws" || echo -)" "$(mib "$limit")" "$pct" "$cpus" $((p1 - p0)) \
      $((t1 - t0)) "$(awk -v n=$((n1 - n0)) 'BEGIN{print n/1e9}')" "$t0" \
      "$(awk -v n="$n0" 'BEGIN{print n/1e9}')" "$oom" "$restarts" "$mark"
  done
  cat <<'TXT'
peak_MiB  the cgroup's peak charge over the container's life, page cache included (the kernel's
          max_usage_in_bytes / memory.peak); used% is it against the limit
ws_MiB    peak working set during the load, sampled each second: usage minus inactive file
          cache (what `docker stats` shows; the part that cannot just be dropped at the limit)
periods / throttled / thr_s   CFS periods, periods that hit the quota, time throttled, during
          the load; start_thr / start_thr_s the same from container start to the load
TXT
  return "$bad"
}

if [ "$ACTION" = stats ]; then print_stats; exit; fi

if [ -z "${RINHACTL:-}" ]; then
  bash scripts/install-deps.sh
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target rinhactl >/dev/null
  RINHACTL=$BUILD_DIR/bin/rinhactl
fi
BUILD_DIR=$(dirname "$(dirname "$RINHACTL")")
BUILD_DIR=$BUILD_DIR bash scripts/container-images.sh

take_down  # whatever an interrupted run left
rm -f "$RUN_DIR/cpu-at-load-start" "$RUN_DIR/ws-peak" "$RUN_DIR/containers.env"
finish() {
  local rc=$?
  if [ -z "${KEEP_UP:-}" ]; then take_down; fi
  [ "$rc" -eq 0 ] || echo "container-run: failed (exit $rc); logs in $RUN_DIR" >&2
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

LB_PORT=${LB_PORT:-9999}
if port_taken "$LB_PORT"; then
  LB_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "container-run: 9999 is taken; the submission is published on 127.0.0.1:$LB_PORT"
fi
read -r EMU_DEFAULT EMU_FALLBACK <<<"${EMU_PORTS:-8001 8002}"
for p in "$EMU_DEFAULT" "$EMU_FALLBACK"; do
  if port_taken "$p"; then echo "container-run: 127.0.0.1:$p is taken (a processor's host port)" >&2; exit 1; fi
done

# The compose file as it is, but published on 127.0.0.1 only (and on LB_PORT), with its
# relative paths made absolute so that it can live in the run dir.
sed -e "s|\"9999:9999\"|\"127.0.0.1:$LB_PORT:9999\"|" \
    -e "s|\.\./\.\.|$ROOT|g" -e "s|\.\./haproxy/|$ROOT/deploy/haproxy/|g" \
    deploy/compose/docker-compose.yml >"$COMPOSE_FILE"
grep -q "127.0.0.1:$LB_PORT:9999" "$COMPOSE_FILE" || { echo "container-run: no 9999:9999 port in the compose file" >&2; exit 1; }

# The processors, as the organizers' compose runs them (each 1.5 CPU / 100MB, restart on
# failure), on the external network the submission joins.
podman network create payment-processor >/dev/null
start_processor() {  # name host-port fee
  podman run -d --name "payment-processor-$1" --network payment-processor \
    --network-alias "payment-processor-$1" -p "127.0.0.1:$2:8080" \
    --cpus 1.5 --memory 100m --restart on-failure \
    "$PROCESSOR_IMAGE_NAME" --name "$1" --listen 0.0.0.0:8080 --fee "$3" --token "$TOKEN" >/dev/null
}
start_processor default "$EMU_DEFAULT" "$FEE_DEFAULT"
start_processor fallback "$EMU_FALLBACK" "$FEE_FALLBACK"

echo "container-run: podman-compose up ($COMPOSE_FILE)"
compose up -d --no-build >"$RUN_DIR/compose-up.log" 2>&1 || { tail -30 "$RUN_DIR/compose-up.log" >&2; exit 1; }

# The official runner's readiness gate: GET /payments-summary, up to 15 tries 5 s apart.
LB_URL=http://127.0.0.1:$LB_PORT
ready=""
for _ in $(seq 1 75); do
  if curl -sf --max-time 3 "$LB_URL/payments-summary" >/dev/null; then ready=1; break; fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "container-run: $LB_URL/payments-summary never answered 200 within 75 s" >&2
  compose logs >"$RUN_DIR/compose.log" 2>&1 || true
  tail -40 "$RUN_DIR/compose.log" >&2
  exit 1
fi
echo "container-run: ready: $LB_URL/payments-summary answers 200"
snapshot_cpu
DEFAULT_URL=http://127.0.0.1:$EMU_DEFAULT
FALLBACK_URL=http://127.0.0.1:$EMU_FALLBACK
printf 'LB_URL=%s\nDEFAULT_URL=%s\nFALLBACK_URL=%s\n' "$LB_URL" "$DEFAULT_URL" "$FALLBACK_URL" \
  >"$RUN_DIR/containers.env"
if [ "$ACTION" = up ]; then trap - EXIT; exit 0; fi

sample_working_sets &
sampler=$!
set +e
# shellcheck disable=SC2086  # LOAD_ARGS is a list of words by design
"$RINHACTL" load --target "$LB_URL" --default-url "$DEFAULT_URL" \
  --fallback-url "$FALLBACK_URL" --token "$TOKEN" --profile "$PROFILE" \
  --json "$RUN_DIR/final-results.json" ${LOAD_ARGS---realtime}
load_rc=$?
set -e
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
compose logs >"$RUN_DIR/compose.log" 2>&1 || true

stats_rc=0
print_stats || stats_rc=$?
if [ "$load_rc" -ne 0 ]; then exit "$load_rc"; fi
exit "$stats_rc"
