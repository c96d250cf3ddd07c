#!/usr/bin/env bash
# The main command: install what is missing, build, start the whole stack locally (HAProxy on
# :9999, two emulated processors on 8001/8002 unless external ones are given), run the
# official-shaped load, print the score table, and always stop the stack again. Ends by
# printing the path of the run report (one self-contained HTML page, next to the JSON).
# Exit status: the load tool's (non-zero when a check or the run failed), or the first failure.
#
# Environment (all optional):
#   PROFILE=preview|final     test shape and emulator fees (default preview)
#   BUILD_DIR=build           build directory
#   RUN_DIR=run/stack         logs, pids, database of the stack
#   LB_PORT=9999              HAProxy port
#   EMU_PORTS="8001 8002"     emulators' ports (the official host ports; "0 0" = any free)
#   DEFAULT_URL, FALLBACK_URL external payment processors (both or neither), e.g. the official
#                             containers on http://127.0.0.1:8001 / :8002
#   TOKEN=123                 the processors' admin token
#   RESULTS=$RUN_DIR/final-results.json   where the official-format JSON goes (plus the run
#                             record under "rinha_run", for `rinhactl report a.json b.json`)
#   REPORT=<RESULTS without .json>.html   the run report
#   LOAD_ARGS="..."           extra arguments for `rinhactl load` (default --realtime: the load
#                             tool's sending thread at real-time priority, so its own scheduling
#                             stays out of the p99 on shared cores; ignored when not permitted)
#   RINHAD_ARGS="..."         extra flags for every rinhad (e.g. --handoff.durability=none)
#   LIMITS=1                  each of postgres, worker, apis, HAProxy inside a cgroup with its
#                             service's deploy.resources.limits from the compose file; prints
#                             the limits, and after the load each one's peak memory charged,
#                             CPU throttling and OOM kills (needs writable cgroups: root)
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-preview}
BUILD_DIR=${BUILD_DIR:-build}
RUN_DIR=${RUN_DIR:-run/stack}
LB_PORT=${LB_PORT:-9999}
TOKEN=${TOKEN:-123}
RESULTS=${RESULTS:-$RUN_DIR/final-results.json}
REPORT=${REPORT:-${RESULTS%.json}.html}
DEFAULT_URL=${DEFAULT_URL:-}
FALLBACK_URL=${FALLBACK_URL:-}
if { [ -n "$DEFAULT_URL" ] && [ -z "$FALLBACK_URL" ]; } || { [ -z "$DEFAULT_URL" ] && [ -n "$FALLBACK_URL" ]; }; then
  echo "run.sh: set both DEFAULT_URL and FALLBACK_URL, or neither" >&2
  exit 2
fi

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target rinhad rinhactl
RINHACTL="$BUILD_DIR/bin/rinhactl"

# A stack left over by an interrupted run would hold the ports: stop it first. An old report
# must not pass for this run's.
rm -f "$REPORT"
"$RINHACTL" stack down --run-dir "$RUN_DIR" >/dev/null 2>&1 || true

stop_stack() {
  local rc=$?
  if ! "$RINHACTL" stack down --run-dir "$RUN_DIR"; then
    [ "$rc" -eq 0 ] && rc=1
  fi
  if [ "$rc" -ne 0 ]; then echo "run.sh: failed (exit $rc); logs in $RUN_DIR" >&2; fi
  if [ -f "$REPORT" ]; then echo "report: $(realpath "$REPORT")"; fi
  exit "$rc"
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

read -r emu_default emu_fallback <<<"${EMU_PORTS:-8001 8002}"
up_args=(--run-dir "$RUN_DIR" --lb-port "$LB_PORT" --fees "$PROFILE" --token "$TOKEN"
         --default-port "$emu_default" --fallback-port "$emu_fallback")
if [ -n "$DEFAULT_URL" ]; then
  up_args+=(--default-url "$DEFAULT_URL" --fallback-url "$FALLBACK_URL")
fi
for a in ${RINHAD_ARGS:-}; do up_args+=("--rinhad-arg=$a"); done
if [ -n "${LIMITS:-}" ]; then up_args+=(--limits); fi
"$RINHACTL" stack up "${up_args[@]}"
# shellcheck source=/dev/null
. "$RUN_DIR/stack.env"

# shellcheck disable=SC2086  # LOAD_ARGS is a list of words by design
"$RINHACTL" load --target "$RINHA_LB_URL" --default-url "$RINHA_DEFAULT_URL" \
  --fallback-url "$RINHA_FALLBACK_URL" --token "$TOKEN" --profile "$PROFILE" \
  --json "$RESULTS" --report "$REPORT" --stack-dir "$RUN_DIR" ${LOAD_ARGS---realtime}
# With LIMITS the load already printed each service's usage under its limits (status would
# print that table a second time).
[ -n "${LIMITS:-}" ] || "$RINHACTL" stack status --run-dir "$RUN_DIR"
