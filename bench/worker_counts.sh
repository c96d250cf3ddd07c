#!/usr/bin/env bash
# The worker's cost per second of a load run, in counts: syscalls, context switches and CPU
# time (perf stat every second over all its threads), beside the POSTs the load completed in
# that second and the timeline's stage. Counts move little with a noisy machine, so two builds
# can be compared across invocations; the stage column shows where the cost goes (e.g. the
# final shape's slow-default stages, hundreds of requests in flight).
#
# Usage: bench/worker_counts.sh            (final shape compressed to DURATION s)
# Environment (all optional):
#   PROFILE=final DURATION=60 STACK_CPU=1 LOAD_CPU=0 BUILD_DIR=build OUT=run/bench-worker
#   RINHAD_ARGS=""   extra flags for every rinhad
#   SOURCE_DIR=      the tree whose config/ and deploy/ the stack uses
#   NICE=10          everything runs at this nice level (counts, not times: share the machine)
#   SCHED=FROM:SECS  also `perf sched record` of STACK_CPU for SECS seconds from FROM s into the
#                    load (OUT/sched.data), then the POST path's wake-ups (HAProxy, api threads)
#                    and whom their scheduling delay was spent behind (latency_stats.py waits)
#   IDLE=worker      these stack processes (comma-separated names, every thread) at SCHED_IDLE
#   STRACE=FROM:SECS the worker's syscalls by name for SECS seconds from FROM s (OUT/strace;
#                    ptrace slows the worker: only the mix is meaningful, not that window's counts)
# Prints per second: POSTs, worker syscalls, context switches, CPU ms, and the totals per POST.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-final}
DURATION=${DURATION:-60}
STACK_CPU=${STACK_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-run/bench-worker}
NICE=${NICE:-10}
IDLE=${IDLE:-}
RINHACTL="$BUILD_DIR/bin/rinhactl"
TOKEN=123
if [ "$PROFILE" = final ]; then fees=(0.07 0.10); else fees=(0.05 0.15); fi

source bench/lib.sh
on() { local cpu=$1; shift; nice -n "$NICE" taskset -c "$cpu" "$@"; }
# In the background, as a direct child whose pid is the program's own (nice and taskset exec it).
spawn() { local cpu=$1; shift; nice -n "$NICE" taskset -c "$cpu" "$@" & pids+=($!); }

pd=$(port)
pf=$(port)
spawn "$LOAD_CPU" "$RINHACTL" processor --name default --listen "127.0.0.1:$pd" --fee "${fees[0]}" \
  --token "$TOKEN" >"$OUT/default.log" 2>&1
spawn "$LOAD_CPU" "$RINHACTL" processor --name fallback --listen "127.0.0.1:$pf" --fee "${fees[1]}" \
  --token "$TOKEN" >"$OUT/fallback.log" 2>&1
up=(stack up --run-dir "$stack" --lb-port "$(port)" --default-url "http://127.0.0.1:$pd"
    --fallback-url "http://127.0.0.1:$pf" --fees "$PROFILE" --token "$TOKEN")
[ -z "${SOURCE_DIR:-}" ] || up+=(--source-dir "$SOURCE_DIR")
for a in ${RINHAD_ARGS:-}; do up+=("--rinhad-arg=$a"); done
on "$STACK_CPU" "$RINHACTL" "${up[@]}" >"$OUT/up.log" 2>&1
lb=$(grep '^RINHA_LB_URL=' "$stack/stack.env" | cut -d= -f2-)
worker=$(awk '$1 == "worker" {print $2}' "$stack/pids")
cp "$stack/pids" "$OUT/pids"
for name in ${IDLE//,/ }; do
  chrt -a -i -p 0 "$(awk -v n="$name" '$1 == n {print $2}' "$stack/pids")" >/dev/null
done

perf stat -I 1000 -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_connect,context-switches,task-clock -p "$worker" \
  -o "$OUT/worker.perf" &
perfpid=$!
if [ -n "${SCHED:-}" ]; then
  (sleep "${SCHED%%:*}" && perf sched record -C "$STACK_CPU" -o "$OUT/sched.data" -- sleep "${SCHED#*:}" \
    >/dev/null 2>&1) &
  pids+=($!)
fi
if [ -n "${STRACE:-}" ]; then
  (sleep "${STRACE%%:*}" && timeout -s INT "${STRACE#*:}" strace -c -f -p "$worker" -o "$OUT/strace" \
    >/dev/null 2>&1) &
  pids+=($!)
fi
on "$LOAD_CPU" "$RINHACTL" load --target "$lb" --default-url "http://127.0.0.1:$pd" \
  --fallback-url "http://127.0.0.1:$pf" --token "$TOKEN" --profile "$PROFILE" \
  --duration "$DURATION" --trace "$OUT/trace" --realtime >"$OUT/load.log" 2>&1 ||
  echo "load exited $? (see $OUT/load.log)" >&2
kill -INT "$perfpid" 2>/dev/null || true
wait "$perfpid" 2>/dev/null || true

if [ -f "$OUT/sched.data" ]; then
  perf sched timehist -i "$OUT/sched.data" >"$OUT/timehist" 2>/dev/null
  python3 bench/latency_stats.py waits "$OUT/timehist" "$OUT/pids" "$STACK_CPU"
fi
grep -A14 '^WHOLE-RUN' "$OUT/load.log" | grep -E '^ *(inconsistencies|lag) ' || true
python3 - "$OUT/trace" "$OUT/worker.perf" <<'EOF'
import collections, sys
trace, perf = sys.argv[1:3]
posts = collections.Counter()
with open(trace) as f:
    for line in f:
        p = line.split()
        if len(p) == 4 and p[3].startswith("2"):
            posts[int(p[0]) // 1000000] += 1
rows = collections.defaultdict(dict)
with open(perf) as f:
    for line in f:
        p = line.strip().split(",")
        if len(p) < 4 or line.startswith("#"):
            continue
        try:
            t, v = float(p[0]), float(p[1])
        except ValueError:
            continue
        rows[int(t)][p[3]] = v
# perf's clock starts about when the load does; the trace's seconds are the load's own.
print("%4s %6s %9s %8s %7s %9s %8s" % ("s", "POSTs", "syscalls", "cswitch", "cpu_ms", "sc/POST", "connects"))
tot = collections.Counter()
for s in sorted(rows):
    r = rows[s]
    n = posts.get(s - 1, 0)
    sc, cs, ms = r.get("raw_syscalls:sys_enter", 0), r.get("context-switches", 0), r.get("task-clock", 0)
    co = r.get("syscalls:sys_enter_connect", 0)
    tot["n"] += n; tot["sc"] += sc; tot["cs"] += cs; tot["ms"] += ms; tot["co"] += co
    print("%4d %6d %9d %8d %7.1f %9s %8d" % (s, n, sc, cs, ms, "%.1f" % (sc / n) if n else "-", co))
n = max(1, tot["n"])
print("total: %d POSTs, worker %.1f syscalls, %.2f cswitch, %.1f us CPU, %.3f connects per POST"
      % (tot["n"], tot["sc"] / n, tot["cs"] / n, tot["ms"] * 1000 / n, tot["co"] / n))
EOF
