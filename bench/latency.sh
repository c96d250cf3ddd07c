#!/usr/bin/env bash
# Latency bench: POST latency of rinha beside a do-nothing backend (`rinhactl noop`, answering
# 202 at once), both on the same core, in one invocation. The whole stack (HAProxy, apis,
# worker, PostgreSQL) runs under `taskset -c $STACK_CPU`, the load tool and the processor
# emulators under `taskset -c $LOAD_CPU`; the floor is the noop backend alone on STACK_CPU with
# nothing in front of it. Each round runs the floor, then every variant (their order rotating
# from round to round); compare rows of one invocation only (shared machine).
#
# Usage: bench/latency.sh [rounds]          (default 1)
# Environment (all optional):
#   PROFILE=final            load shape (final: 603 VUs, fees 7 %/10 %; preview)
#   DURATION=60              seconds, the profile's timeline compressed; "full" = the profile's own
#   VARIANTS="rinha="        ';'-separated label=rinhad flags ("" = the floor alone), e.g.
#                            "rinha=;t1=--api.threads=1" (flags go to every rinhad);
#                            "@idle=worker,postgres" puts those processes at SCHED_IDLE;
#                            "@build=DIR @source=TREE" runs that variant's stack from another
#                            build (DIR/bin/rinhad) and source tree (its config/, deploy/), e.g.
#                            "before=@build=../base/build @source=../base;after=" for an A/B
#   TRACE=1                  per rinha run: the seconds holding the slowest POSTs and each stack
#                            process's CPU in them (sampled every 100 ms from /proc)
#   BANDS=20                 per run: POSTs/s, p50/p90/p99 and the share of POSTs answered in
#                            bursts per 20 s (latency_stats.py bands): how latency follows the rate
#   STACK_CPU=1 LOAD_CPU=0   cores; BUILD_DIR=build (its rinhactl drives the load and the floor);
#                            OUT=run/bench-latency
#   AWAKE=1                  keep both cores out of the idle state for the whole invocation: one
#                            SCHED_IDLE spinner per core (it yields to every other thread at once).
#                            On a VM whose idle is a halt (cpuidle haltpoll with guest_halt_poll_ns=0)
#                            every wake-up of an idle core is a trip through the hypervisor, which
#                            dominates a sparse load's latency, floor included (bench/README.md)
# Prints one row per run: POSTs ok, p50 p90 p99 p99.9 max (ms, 2xx POSTs from `load --trace`),
# p99 over the same round's floor, for rinha the whole-run inconsistencies, lag, failures, and
# the 1-min load average at the run's end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
PROFILE=${PROFILE:-final}
DURATION=${DURATION:-60}
VARIANTS=${VARIANTS-rinha=}
STACK_CPU=${STACK_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-run/bench-latency}
RINHACTL="$BUILD_DIR/bin/rinhactl"
STATS=bench/latency_stats.py
TOKEN=123
if [ "$PROFILE" = final ]; then fees=(0.07 0.10); else fees=(0.05 0.15); fi
dur_args=()
[ "$DURATION" = full ] || dur_args=(--duration "$DURATION")

rm -rf "$OUT"
mkdir -p "$OUT"
pids=()
stacks=()
awake=()
cleanup() {
  for p in "${awake[@]}"; do kill "$p" 2>/dev/null || true; done
  for s in "${stacks[@]}"; do "$RINHACTL" stack down --run-dir "$s" >/dev/null 2>&1 || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
if [ "${AWAKE:-0}" = 1 ]; then
  for c in "$STACK_CPU" "$LOAD_CPU"; do
    taskset -c "$c" chrt -i 0 sh -c 'while :; do :; done' &
    awake+=($!)
  done
fi
trap 'exit 130' INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mono_ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }

# Emulators for one run on LOAD_CPU; sets du/fu.
start_emulators() {
  local dir=$1 pd pf
  pd=$(port)
  pf=$(port)
  taskset -c "$LOAD_CPU" "$RINHACTL" processor --name default --listen "127.0.0.1:$pd" \
    --fee "${fees[0]}" --token "$TOKEN" >"$dir/default.log" 2>&1 &
  pids+=($!)
  taskset -c "$LOAD_CPU" "$RINHACTL" processor --name fallback --listen "127.0.0.1:$pf" \
    --fee "${fees[1]}" --token "$TOKEN" >"$dir/fallback.log" 2>&1 &
  pids+=($!)
  du=http://127.0.0.1:$pd
  fu=http://127.0.0.1:$pf
}

stop_started() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# load TARGET DIR: the load on LOAD_CPU with a trace.
load() {
  taskset -c "$LOAD_CPU" "$RINHACTL" load --target "$1" --default-url "$du" --fallback-url "$fu" \
    --token "$TOKEN" --profile "$PROFILE" "${dur_args[@]}" --trace "$2/trace" \
    ${LOAD_ARGS---realtime} >"$2/load.log" 2>&1 || echo "load exited $? (see $2/load.log)" >&2
}

declare -A floor_p99
row() {  # label round dir
  local label=$1 r=$2 dir=$3 stats ratio extra=""
  stats=$(python3 $STATS pct "$dir/trace")
  read -r n p50 p90 p99 p999 max <<<"$stats"
  if [ "$label" = floor ]; then floor_p99[$r]=$p99; fi
  ratio=$(python3 -c "print('%.2f' % ($p99 / ${floor_p99[$r]:-0})) if ${floor_p99[$r]:-0} else print('-')")
  if [ "$label" != floor ]; then
    extra=$(grep -A14 '^WHOLE-RUN' "$dir/load.log" | grep -E '^ *(inconsistencies|lag) ' |
      awk '{print $1"="$2}' | tr '\n' ' ')
    extra="$extra$(grep -o 'ok, [0-9]* failed' "$dir/load.log" | head -1 | sed 's/ok, /failed=/; s/ failed//') "
  fi
  # Other work on the machine shows here first (AWAKE=1's spinners add 2): with builds beside
  # it the floor's slow POSTs take one or two ticks (4 or 8 ms, bench/README.md).
  extra="${extra}load=$(cut -d' ' -f1 /proc/loadavg)"
  printf '%-10s %5s %7s %7s %7s %7s %7s %8s %6s  %s\n' "$label" "$r" "$n" "$p50" "$p90" "$p99" \
    "$p999" "$max" "$ratio" "$extra" | tee -a "$OUT/table"
}

printf '%-10s %5s %7s %7s %7s %7s %7s %8s %6s  %s\n' run round POSTs p50 p90 p99 p99.9 max \
  "/floor" "(ms; whole run)" | tee "$OUT/table"
IFS=';' read -r -a variants <<<"$VARIANTS"
for r in $(seq 1 "$ROUNDS"); do
  # The floor: noop backend alone on the stack's core.
  d="$OUT/$r-floor"
  mkdir -p "$d"
  start_emulators "$d"
  np=$(port)
  taskset -c "$STACK_CPU" "$RINHACTL" noop --listen "127.0.0.1:$np" >"$d/noop.log" 2>&1 &
  pids+=($!)
  sleep 1
  load "http://127.0.0.1:$np" "$d"
  stop_started
  row floor "$r" "$d"

  # The variants' order rotates per round, so that a machine drifting during a round does not
  # always hit the same one (bench/README.md: one build run twice in a round differed 2-4x).
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[$(((k + r - 1) % ${#variants[@]}))]}
    label=${v%%=*}
    args=${v#*=}
    d="$OUT/$r-$label"
    mkdir -p "$d"
    start_emulators "$d"
    up=(stack up --run-dir "$d/stack" --lb-port "$(port)" --default-url "$du" --fallback-url "$fu"
        --fees "$PROFILE" --token "$TOKEN")
    idle=""
    ctl=$RINHACTL
    for a in $args; do
      case $a in
        @idle=*) idle=${a#@idle=} ;;
        @build=*) ctl=${a#@build=}/bin/rinhactl ;;
        @source=*) up+=(--source-dir "${a#@source=}") ;;
        *) up+=("--rinhad-arg=$a") ;;
      esac
    done
    stacks+=("$d/stack")
    if ! taskset -c "$STACK_CPU" "$ctl" "${up[@]}" >"$d/up.log" 2>&1; then
      echo "$label: stack up failed (see $d/up.log)" >&2
      stop_started
      continue
    fi
    lb=$(grep '^RINHA_LB_URL=' "$d/stack/stack.env" | cut -d= -f2-)
    # @idle=worker,postgres: those processes (every thread, and their children) at SCHED_IDLE.
    for name in ${idle//,/ }; do
      pid=$(awk -v n="$name" '$1 == n {print $2}' "$d/stack/pids")
      for p in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do chrt -a -i -p 0 "$p" >/dev/null; done
    done
    if [ -n "${TRACE:-}" ]; then
      taskset -c "$LOAD_CPU" python3 $STATS sample "$d/stack/pids" "$d/cpu" &
      pids+=($!)
    fi
    launch=$(mono_ms)
    load "$lb" "$d"
    "$ctl" stack down --run-dir "$d/stack" >/dev/null 2>&1 || echo "$label: stack down failed" >&2
    stop_started
    row "$label" "$r" "$d"
    if [ -n "${TRACE:-}" ]; then python3 $STATS attribute "$d/trace" "$d/cpu" "$launch" >"$d/attribution"; fi
  done
done
if [ -n "${BANDS:-}" ]; then
  for t in "$OUT"/*/trace; do echo "== $t"; python3 $STATS bands "$t" "$BANDS"; done
fi
if [ -n "${TRACE:-}" ]; then
  for f in "$OUT"/*/attribution; do echo "== $f"; cat "$f"; done
fi
