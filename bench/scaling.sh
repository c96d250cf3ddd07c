#!/usr/bin/env bash
# Benchmark (issue 14, item 5): payments forwarded per second as nodes are added. For each N in
# NODES: `rinhactl stack up --nodes N --node-cpus NODE_CPUS` (each node's worker and apis in one
# CPU-limited cgroup; N = 1 is the single-node stack, no claims, no fan-out), both emulators at
# zero delay (800 permits), then wrk flat out through HAProxy (CONNS connections: offered load
# above what one limited node forwards) for DURATION s while bench/check_sampler.py makes the
# official check through HAProxy every 250 ms. Per N, one line:
#   accepted/s   2xx POSTs per second (wrk)
#   forwarded/s  payments the processors received per second during the run (their own count)
#   POST p50/p99 wrk's latency (closed loop: includes waiting for the node's CPU quota)
#   summary p50/p99, checks, inconsistent, unanswered (the sampler; a check is our summary and
#                both processors' read in parallel, as the official checker does)
#   backlog      payments accepted but not yet settled when wrk stopped (sum over workers)
#   dups         payments the workers took again and ignored (api resends, claims lost to
#                another node), warm-up and drain included: wrk's ids are unique, so 0 unless
#                batches were sent twice
#   pg commits/s PostgreSQL transactions committed per second during the run (pg_stat_database:
#                ledger flushes, claims, health; the paper model's input, docs/scale-out.md 5)
# Timing figures: run it under the bench lock, compare within one invocation only.
# Usage: NODES="1 2 3" NODE_CPUS=0.25 DURATION=20 CONNS=64 bench/scaling.sh
#        RINHAD_ARGS="--flag=value ..." adds flags to every rinhad
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
RINHACTL=$BUILD_DIR/bin/rinhactl
NODES=${NODES:-"1 2 3"}
NODE_CPUS=${NODE_CPUS:-0.25}
DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
OUT=${OUT:-run/scaling}
# shellcheck source=bench/lib.sh
. bench/lib.sh

sum_metric() {  # sum of one series over every worker's /metrics
  local total=0 v
  for u in $RINHA_WORKER_METRICS_URLS; do
    v=$(curl -s -m 2 "$u" | awk -v s="$1" '$1 == s { print int($2) }')
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
processed() {  # payments both processors hold
  local total=0 v
  for u in "$RINHA_DEFAULT_URL" "$RINHA_FALLBACK_URL"; do
    v=$(curl -s -m 2 -H 'X-Rinha-Token: 123' "$u/admin/payments-summary" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["totalRequests"])')
    total=$((total + v))
  done
  echo "$total"
}

pg_commits() {
  psql "$RINHA_DATABASE_URL" -Atc \
    "select xact_commit from pg_stat_database where datname = current_database()"
}

row='%-5s %-11s %-11s %-17s %-19s %-7s %-12s %-10s %-8s %-8s %s\n'
# shellcheck disable=SC2059
printf "$row" nodes accepted/s forwarded/s "POST p50/p99 ms" "summary p50/p99 ms" checks \
  inconsistent unanswered backlog dups "pg commits/s"
for n in $NODES; do
  stack="$OUT/stack$n"
  up_args=(--run-dir "$stack" --lb-port "$(port)" --default-port 0 --fallback-port 0
    --nodes "$n" --node-cpus "$NODE_CPUS")
  for a in ${RINHAD_ARGS:-}; do up_args+=("--rinhad-arg=$a"); done
  "$RINHACTL" stack up "${up_args[@]}" > "$OUT/up$n.log" 2>&1
  # shellcheck source=/dev/null
  . "$stack/stack.env"
  for u in "$RINHA_DEFAULT_URL" "$RINHA_FALLBACK_URL"; do
    curl -s -o /dev/null -X PUT -H 'X-Rinha-Token: 123' -H 'Content-Type: application/json' \
      -d '{"delay":0}' "$u/admin/configurations/delay"
  done
  # Warm-up: connections open, every worker's first batch through PostgreSQL.
  wrk -t2 -c"$CONNS" -d3s -s bench/post_unique.lua "$RINHA_LB_URL/payments" > /dev/null
  python3 bench/check_sampler.py "$RINHA_LB_URL" "$RINHA_DEFAULT_URL" "$RINHA_FALLBACK_URL" \
    0.25 > "$OUT/checks$n.txt" 2> "$OUT/mismatches$n.txt" &
  sampler=$!
  pids+=("$sampler")
  before=$(processed)
  commits0=$(pg_commits)
  t0=$(date +%s.%N)
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s bench/post_unique.lua \
    "$RINHA_LB_URL/payments" > "$OUT/wrk$n.txt"
  t1=$(date +%s.%N)
  after=$(processed)
  commits1=$(pg_commits)
  backlog=$(sum_metric rinha_worker_backlog)
  # The checks go on while the backlog drains: those windows must agree too.
  sleep 3
  kill -TERM "$sampler"
  wait "$sampler" || true
  dups=$(sum_metric rinha_worker_duplicates_ignored_total)
  "$RINHACTL" stack down --run-dir "$stack" > /dev/null 2>&1 || true

  secs=$(python3 -c "print($t1 - $t0)")
  forwarded=$(python3 -c "print(round(($after - $before) / $secs))")
  commits=$(python3 -c "print(round(($commits1 - $commits0) / $secs))")
  accepted=$(awk '/^Requests\/sec/ { print int($2) }' "$OUT/wrk$n.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$OUT/wrk$n.txt")
  [ -n "$non2xx" ] && accepted="$accepted(!$non2xx non-2xx)"
  ms() { awk -v p="$1" '$1 == p { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; printf "%.2f", v }' "$OUT/wrk$n.txt"; }
  post="$(ms 50%)/$(ms 99%)"
  read -r c m u sp50 sp99 < <(sed -E 's/[a-z_0-9]+=//g' "$OUT/checks$n.txt")
  # shellcheck disable=SC2059
  printf "$row" "$n" "$accepted" "$forwarded" "$post" "$sp50/$sp99" "$c" "$m" "$u" "$backlog" \
    "$dups" "$commits"
done
