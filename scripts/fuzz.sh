#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS (default 20).
# Used by the test suite with a short bound; run longer by hand: scripts/fuzz.sh 600
# Output: one line per target with executions and the verdict; exit 1 on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
OUT=${FUZZ_DIR:-build-fuzz}
mkdir -p "$OUT"
# The RINHA_FUZZ build of CMake (clang, libFuzzer, ASan + UBSan), only the three fuzz targets.
cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="${FUZZ_CXX:-clang++}" \
  -DRINHA_FUZZ=ON -DRINHA_SANITIZE=address >/dev/null
cmake --build "$OUT" -j"$(nproc)" --target payment_fuzz query_fuzz handoff_fuzz >/dev/null
status=0
for t in payment query handoff; do
  corpus="$OUT/corpus-$t"
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/$t/* "$corpus/" 2>/dev/null || true
  log="$OUT/$t.log"
  if "$OUT/bin/${t}_fuzz" "$corpus" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=5 \
       -artifact_prefix="$OUT/$t-" >"$log" 2>&1; then
    verdict=ok
  else
    verdict=CRASH; status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  echo "fuzz $t: ${execs:-?} executions in ${SECONDS_EACH}s: $verdict"
  [ "$verdict" = ok ] || tail -30 "$log"
done
exit $status
