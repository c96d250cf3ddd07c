#!/usr/bin/env bash
# Benchmark (longevity, issue 15): the local stack under `rinhactl load --profile soak` (600 VUs
# at a constant ~600 payments/s, processors' delays set once) for DURATION seconds, with
#   - every stack process's RSS sampled each SAMPLE_S seconds (run/soak/rss.tsv),
#   - the summary of the official check window [now-15 s, now-2 s] and of an old window (edges
#     inside folded buckets: PostgreSQL range queries) timed each second through HAProxy
#     (run/soak/summary.tsv),
#   - at the end: the worker restarted (SIGTERM, start, time until its hand-off socket answers a
#     summary) and the PostgreSQL footprint and journal sizes.
# Prints RSS per process at 10, 30 and 60 min (whichever the run reached), the summary p99 per
# 10 minutes, bytes of worker RSS per payment, restart time. Needs a quiet machine (wrap it in
# the bench lock). Usage: DURATION=3600 bench/soak.sh   (RINHAD_ARGS="..." extra rinhad flags)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
RINHACTL=$BUILD_DIR/bin/rinhactl
DURATION=${DURATION:-3600}
SAMPLE_S=${SAMPLE_S:-30}
OUT=${OUT:-run/soak}
RUN_DIR=$OUT/stack
rm -rf "$OUT"
mkdir -p "$OUT"
up_args=(--run-dir "$RUN_DIR" --lb-port "${LB_PORT:-0}" --fees final)
for a in ${RINHAD_ARGS:-}; do up_args+=("--rinhad-arg=$a"); done
"$RINHACTL" stack down --run-dir "$RUN_DIR" >/dev/null 2>&1 || true
cleanup() {
  for p in ${bg_pids:-}; do kill "$p" 2>/dev/null || true; done
  "$RINHACTL" stack down --run-dir "$RUN_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$RINHACTL" stack up "${up_args[@]}"
# shellcheck source=/dev/null
. "$RUN_DIR/stack.env"
pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$RUN_DIR/pids"; }

# RSS (KiB) of each stack process (PostgreSQL: the postmaster and its children summed).
rss_sampler() {
  local t0=$SECONDS
  while :; do
    local line="$((SECONDS - t0))"
    while read -r name pid _; do
      local kb=0
      if [ "$name" = postgres ]; then
        for c in $pid $(pgrep -P "$pid" || true); do
          kb=$((kb + $(awk '/^VmRSS/ { print $2 }' "/proc/$c/status" 2>/dev/null || echo 0)))
        done
      else
        kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
      fi
      line+=$'\t'"$name=$kb"
    done < "$RUN_DIR/pids"
    # The worker's heap as malloc sees it (KiB): live bytes and bytes held from the kernel.
    local m
    m=$(curl -s -m 2 "$RINHA_WORKER_METRICS_URL" || true)
    line+=$'\t'"worker_heap_live=$(awk '/^rinha_worker_heap_in_use_bytes / { print int($2 / 1024) }' <<<"$m")"
    line+=$'\t'"worker_heap_held=$(awk '/^rinha_worker_heap_held_bytes / { print int($2 / 1024) }' <<<"$m")"
    echo "$line" >> "$OUT/rss.tsv"
    sleep "$SAMPLE_S"
  done
}

iso() { iso_ms "$1" 000; }
iso_ms() { echo "$(date -u -d "@$1" +%Y-%m-%dT%H:%M:%S).$2Z"; }
# Seconds since start, window kind, seconds the summary took, HTTP status.
summary_sampler() {
  local t0=$SECONDS start
  start=$(date +%s)
  while :; do
    local now
    now=$(date +%s)
    curl -s -o /dev/null -w "$((SECONDS - t0))\tcheck\t%{time_total}\t%{http_code}\n" \
      "$RINHA_LB_URL/payments-summary?from=$(iso $((now - 15)))&to=$(iso $((now - 2)))" \
      >> "$OUT/summary.tsv" || true
    # Old: from 7.3 s after the start to 60 % of the way: both edges inside folded buckets.
    curl -s -o /dev/null -w "$((SECONDS - t0))\told\t%{time_total}\t%{http_code}\n" \
      "$RINHA_LB_URL/payments-summary?from=$(iso_ms $((start + 7)) 300)&to=$(iso_ms $((start + (now - start) * 6 / 10)) 700)" \
      >> "$OUT/summary.tsv" || true
    sleep 1
  done
}
rss_sampler & bg_pids="$!"
summary_sampler & bg_pids+=" $!"

"$RINHACTL" load --profile soak --duration "$DURATION" --target "$RINHA_LB_URL" \
  --default-url "$RINHA_DEFAULT_URL" --fallback-url "$RINHA_FALLBACK_URL" \
  --json "$OUT/final-results.json" --stack-dir "$RUN_DIR" > "$OUT/load.log" 2>&1 || true
for p in $bg_pids; do kill "$p" 2>/dev/null || true; done
bg_pids=

# Restart the worker as the stack started it (same argv and cwd; SIGTERM lets it drain first):
# time from its exec until a summary answers 200 again through HAProxy.
wpid=$(pid_of worker)
mapfile -d '' wargv < "/proc/$wpid/cmdline"
wcwd=$(readlink "/proc/$wpid/cwd")
kill -TERM "$wpid"
while kill -0 "$wpid" 2>/dev/null; do sleep 0.05; done
t=$(date +%s%N)
(cd "$wcwd" && exec "${wargv[@]}") >> "$OUT/worker-restarted.log" 2>&1 &
bg_pids="$!"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$RINHA_LB_URL/payments-summary")" = 200 ]; do
  sleep 0.02
done
restart_ms=$(( ($(date +%s%N) - t) / 1000000 ))
loaded=$(grep -h "ledger loaded" "$OUT/worker-restarted.log" | tail -1 || true)
payments=$(curl -s "$RINHA_WORKER_METRICS_URL" | awk '/^rinha_worker_ledger_payments / { print $2 }')
pg_bytes=$(psql "$RINHA_DATABASE_URL" -Atc "select pg_total_relation_size('ledger') || ' ' || \
pg_total_relation_size('ledger_buckets') || ' ' || pg_database_size(current_database())" \
  2>/dev/null || echo "? ? ?")

echo "== soak: ${DURATION} s, $(grep -E '^run: ' "$OUT/load.log" | head -1)"
grep -E 'inconsistencies|lag' "$OUT/load.log" | tr -s ' ' | head -4 || true
echo "== RSS (MiB) per process at 10 / 30 / 60 min (or the last sample)"
awk -F'\t' -v d="$DURATION" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); rss[$1, kv[1]] = kv[2]; names[kv[1]] = 1 }
    t[NR] = $1 }
  END {
    n = split("600 1800 3600", marks, " ")
    for (name in names) {
      line = sprintf("%-10s", name)
      for (m = 1; m <= n; m++) {
        best = ""; for (k = 1; k <= NR; k++) if (t[k] <= marks[m]) best = t[k]
        line = line sprintf("  %4d min: %7.1f", marks[m] / 60, best == "" ? 0 : rss[best, name] / 1024)
      }
      print line
    }
  }' "$OUT/rss.tsv"
echo "== summary p99 (ms) per 10 minutes: check window / old window"
awk -F'\t' '$4 == 200 { printf "%d %s %.3f\n", int($1 / 600), $2, $3 * 1000 }' "$OUT/summary.tsv" |
  sort -k1,1n -k2,2 -k3,3g |
  awk 'function flush() { if (n) printf "%3d-%3d min  %-5s p99 %7.2f ms  (n=%d)\n", k * 10, k * 10 + 10, kind, v[int(0.99 * (n - 1)) + 1], n }
       $1 != k || $2 != kind { flush(); k = $1; kind = $2; n = 0 }
       { v[++n] = $3 }
       END { flush() }'
# Worker growth per payment from GROWTH_FROM_S (default 180 s: once the default 120 s horizon
# is full, detail stops growing) to the last sample.
awk -F'\t' -v p="${payments:-0}" -v d="$DURATION" -v from="${GROWTH_FROM_S:-180}" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "worker") w = kv[2] }
    if ($1 >= from && first == "") { first = w; t1 = $1 } last = w; tl = $1 }
  END { if (first != "" && p > 0 && tl > t1)
          printf "== worker RSS %.1f MiB at %d s -> %.1f MiB at %d s: %.1f B per payment (~%d payments in between)\n",
                 first / 1024, t1, last / 1024, tl, (last - first) * 1024 / (p * (tl - t1) / d), p * (tl - t1) / d }' \
  "$OUT/rss.tsv"
echo "== worker restart: ${restart_ms} ms until a summary answered 200 (${loaded##*worker: })"
echo "== payments in the ledger: ${payments:-?}; PostgreSQL bytes (ledger, ledger_buckets, database): $pg_bytes"
echo "== journals: $(du -b "$RUN_DIR"/journal* 2>/dev/null | awk '{ printf "%s %d B; ", $2, $1 }')"
