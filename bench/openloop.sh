#!/usr/bin/env bash
# Cross-check of the load tool's floor: bench/openloop.cpp (independent of `rinhactl load`: no
# libcurl, its own send/receive stamps, exponential gaps at a fixed rate, one keep-alive
# connection per request slot) against the do-nothing backend (`rinhactl noop`) on STACK_CPU,
# itself on LOAD_CPU, one run per rate. Compare with `BANDS=20 VARIANTS= bench/latency.sh`
# (the floor per rate band of the ramp) in the same sitting.
#
# Usage: bench/openloop.sh [rates...]        (default: 100 200 300 400 500 600 POSTs/s)
# Environment: SECONDS_PER_RATE=20, AWAKE=1 (as latency.sh), STACK_CPU=1 LOAD_CPU=0,
#              BUILD_DIR=build (for rinhactl noop), OUT=run/bench-openloop
# Prints per rate: POSTs, p50 p90 p99 p99.9 max (ms) and how late the sends left (p99, max).
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${*:-100 200 300 400 500 600}
SECS=${SECONDS_PER_RATE:-20}
STACK_CPU=${STACK_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-run/bench-openloop}
rm -rf "$OUT"
mkdir -p "$OUT"
c++ -O2 -std=c++20 -Wall -Wextra -Werror -o "$OUT/openloop" bench/openloop.cpp
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "${AWAKE:-0}" = 1 ]; then
  for c in "$STACK_CPU" "$LOAD_CPU"; do
    taskset -c "$c" chrt -i 0 sh -c 'while :; do :; done' &
    pids+=($!)
  done
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c "$STACK_CPU" "$BUILD_DIR/bin/rinhactl" noop --listen "127.0.0.1:$port" >"$OUT/noop.log" 2>&1 &
pids+=($!)
sleep 1
printf '%8s %7s %7s %7s %7s %7s %8s %9s %8s\n' POSTs/s POSTs p50 p90 p99 p99.9 max late_p99 late_max
for rate in $RATES; do
  # As many connections as POSTs per second: each one used about once a second, as a VU.
  taskset -c "$LOAD_CPU" chrt -f 10 "$OUT/openloop" 127.0.0.1 "$port" "$rate" "$SECS" "$rate" \
    "$OUT/trace-$rate" 2>"$OUT/openloop-$rate.log"
  read -r n p50 p90 p99 p999 max <<<"$(python3 bench/latency_stats.py pct "$OUT/trace-$rate")"
  late=$(sed -n 's/.*send late p50 [0-9.]* p99 \([0-9.]*\) max \([0-9.]*\).*/\1 \2/p' "$OUT/openloop-$rate.log")
  printf '%8s %7s %7s %7s %7s %7s %8s %9s %8s\n' "$rate" "$n" "$p50" "$p90" "$p99" "$p999" "$max" $late
done
