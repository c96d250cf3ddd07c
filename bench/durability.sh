#!/usr/bin/env bash
# Benchmark: p99 of the preview load for each hand-off durability level, side by side, plus the
# do-nothing floor (HAProxy answering by itself) measured the same way. Noisy on shared cores:
# compare within one invocation only. Usage: bench/durability.sh [profile]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${1:-preview}
BUILD_DIR=${BUILD_DIR:-build}
out=${OUT:-run/bench}
mkdir -p "$out"
for d in none process machine; do
  RUN_DIR="$out/$d" PROFILE=$PROFILE BUILD_DIR=$BUILD_DIR RINHAD_ARGS="--handoff.durability=$d" \
    RESULTS="$out/$d.json" bash scripts/run.sh > "$out/$d.log" 2>&1 || echo "durability $d: run failed (see $out/$d.log)"
done
bash bench/floor.sh "$PROFILE" > "$out/floor.log" 2>&1 || echo "floor: run failed (see $out/floor.log)"
printf '%-10s %s\n' level "p99 / inconsistencies / lag (whole run)"
for d in none process machine floor; do
  printf '%-10s %s\n' "$d" "$(grep -E '^run: ' "$out/$d.log" | grep -o 'p99 [0-9.]*' | head -1) \
$(grep -A12 '^WHOLE-RUN' "$out/$d.log" | grep -E 'inconsistencies|lag' | tr -s ' ' | tr '\n' ' ')"
done
