#!/usr/bin/env bash
# Syscalls and context switches per POST /payments, per process of the stack, beside the same
# counts for the do-nothing floor (`rinhactl noop`). Counts, not times: a noisy machine changes
# them little, so two builds can be compared across invocations (times cannot).
# The stack runs on STACK_CPU, wrk and the processor emulators on LOAD_CPU. Per target, wrk
# sends POSTs with unique ids for SECONDS over CONNS keep-alive connections while
# `perf stat -e raw_syscalls:sys_enter,context-switches,task-clock` counts each process (all its
# threads); each count is divided by the POSTs wrk completed. CPU time per POST is a time, not a
# count (a busy machine inflates it): compare it within one invocation only.
# Targets: noop, api1 directly, HAProxy.
#
# Usage: bench/syscalls.sh                 (prints one row per target x process)
# Environment (all optional):
#   SECONDS_PER=5 CONNS=1   wrk duration per target and connections (wrk runs flat out; with
#                           CONNS=1 one request at a time, nothing batches by coincidence)
#   RINHAD_ARGS=""          extra flags for every rinhad (e.g. --handoff.durability=none)
#   SOURCE_DIR=             the tree whose config/ and deploy/ the stack uses (default: the one
#                           BUILD_DIR was built from); e.g. another build of main for an A/B
#   STRACE=1                then one more HAProxy run with `strace -c -f` on haproxy, api1, api2
#                           and the worker: each one's syscalls by name per POST (OUT/strace.*;
#                           ptrace slows them, so wrk completes fewer POSTs: only per POST counts)
#   STACK_CPU=1 LOAD_CPU=0 BUILD_DIR=build OUT=run/bench-syscalls
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${SECONDS_PER:-5}
CONNS=${CONNS:-1}
STACK_CPU=${STACK_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-run/bench-syscalls}
RINHACTL="$BUILD_DIR/bin/rinhactl"
TOKEN=123

source bench/lib.sh

# wrk_while URL WRKOUT PID...: wrk against URL (its output in WRKOUT) while the counters PID...
# (perf, strace) run, then SIGINT to them so that they write their counts; sets n to wrk's POSTs.
wrk_while() {
  local url=$1 out=$2
  shift 2
  sleep 1
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECONDS_PER}s" -s bench/post_unique.lua \
    "$url/payments" >"$out" 2>&1
  for p in "$@"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  if grep -q 'Non-2xx' "$out"; then echo "$out: $(grep Non-2xx "$out")" >&2; fi
  n=$(awk '/requests in/ {print $1}' "$out")
}

# measure LABEL URL NAME=PID...: wrk against URL while perf counts each named process.
measure() {
  local label=$1 url=$2 perfs=()
  shift 2
  for np in "$@"; do
    perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "${np#*=}" \
      -o "$OUT/$label.${np%%=*}.perf" &
    perfs+=($!)
  done
  wrk_while "$url" "$OUT/$label.wrk" "${perfs[@]}"
  for np in "$@"; do
    awk -F, -v l="$label" -v p="${np%%=*}" -v n="$n" '
      $3 == "raw_syscalls:sys_enter" { sc = $1 }
      $3 == "context-switches" { cs = $1 }
      $3 == "task-clock" { ms = $1 }
      END { printf "%-8s %-10s %8d %10.2f %10.2f %8.1f\n", l, p, n, sc / n, cs / n, ms * 1000 / n }' \
      "$OUT/$label.${np%%=*}.perf" | tee -a "$OUT/table"
  done
}

# Emulators on LOAD_CPU.
pd=$(port)
pf=$(port)
taskset -c "$LOAD_CPU" "$RINHACTL" processor --name default --listen "127.0.0.1:$pd" --fee 0.07 \
  --token "$TOKEN" >"$OUT/default.log" 2>&1 &
pids+=($!)
taskset -c "$LOAD_CPU" "$RINHACTL" processor --name fallback --listen "127.0.0.1:$pf" --fee 0.10 \
  --token "$TOKEN" >"$OUT/fallback.log" 2>&1 &
pids+=($!)

printf '%-8s %-10s %8s %10s %10s %8s\n' target process POSTs syscalls/POST cswitch/POST CPU-us/POST | tee "$OUT/table"

# The floor.
np=$(port)
taskset -c "$STACK_CPU" "$RINHACTL" noop --listen "127.0.0.1:$np" >"$OUT/noop.log" 2>&1 &
noop=$!
pids+=($noop)
sleep 1
measure noop "http://127.0.0.1:$np" "noop=$noop"
kill "$noop"

up=(stack up --run-dir "$stack" --lb-port "$(port)" --default-url "http://127.0.0.1:$pd"
    --fallback-url "http://127.0.0.1:$pf" --fees final --token "$TOKEN")
for a in ${RINHAD_ARGS:-}; do up+=("--rinhad-arg=$a"); done
[ -z "${SOURCE_DIR:-}" ] || up+=(--source-dir "$SOURCE_DIR")
taskset -c "$STACK_CPU" "$RINHACTL" "${up[@]}" >"$OUT/up.log" 2>&1 || {
  echo "stack up failed (see $OUT/up.log)" >&2
  exit 1
}
pid_of() { awk -v n="$1" '$1 == n {print $2}' "$stack/pids"; }
api1=$(pid_of api1)
api1_url=http://$(tr '\0' '\n' <"/proc/$api1/cmdline" | grep -A1 -x -- '--api.listen' | tail -1)
lb=$(grep '^RINHA_LB_URL=' "$stack/stack.env" | cut -d= -f2-)
# Warm-up: the worker opens some of its PostgreSQL connections at the first payments; their
# backends must exist before they are listed below.
taskset -c "$LOAD_CPU" wrk -t1 -c1 -d1s -s bench/post_unique.lua "$lb/payments" >/dev/null 2>&1
procs=("api1=$api1" "api2=$(pid_of api2)" "worker=$(pid_of worker)" "haproxy=$(pid_of haproxy)"
       "postgres=$(pid_of postgres)$(pgrep -d, -P "$(pid_of postgres)" | sed 's/^/,/')")
measure api1 "$api1_url" "${procs[@]}"
measure haproxy "$lb" "${procs[@]}"

# strace_mix NAME=PID...: the syscalls of each named process by name, per POST of one wrk run.
strace_mix() {
  local straces=()
  for np in "$@"; do
    strace -c -f -p "${np#*=}" -o "$OUT/strace.${np%%=*}" 2>/dev/null &
    straces+=($!)
  done
  wrk_while "$lb" "$OUT/strace.wrk" "${straces[@]}"
  echo "syscalls per POST through HAProxy under strace ($n POSTs):"
  for np in "$@"; do
    awk -v p="${np%%=*}" -v n="$n" '
      $1 ~ /^[0-9.]+$/ && $NF != "total" {
        printf "  %-8s %-16s %7.2f%s\n", p, $NF, $4 / n, NF == 6 ? sprintf(" (%.2f failed)", $5 / n) : "" }' \
      "$OUT/strace.${np%%=*}"
  done
}
if [ -n "${STRACE:-}" ]; then
  strace_mix "haproxy=$(pid_of haproxy)" "api1=$api1" "api2=$(pid_of api2)" "worker=$(pid_of worker)"
fi
