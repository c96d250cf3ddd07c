#!/usr/bin/env bash
# The load tool's floor: the same `rinhactl load` against HAProxy answering every request by
# itself (deploy/haproxy/noop.cfg), with emulators for the admin calls. Whatever p99 this shows
# is the client + LB + machine cost that no backend can beat. Usage: bench/floor.sh [profile]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${1:-preview}
BUILD_DIR=${BUILD_DIR:-build}
RINHACTL="$BUILD_DIR/bin/rinhactl"
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lb=$(port); pd=$(port); pf=$(port)
"$RINHACTL" processor --name default --listen 127.0.0.1:$pd --fee 0.05 --token 123 >"$dir/d.log" 2>&1 & pids+=($!)
"$RINHACTL" processor --name fallback --listen 127.0.0.1:$pf --fee 0.15 --token 123 >"$dir/f.log" 2>&1 & pids+=($!)
RINHA_LB_BIND=127.0.0.1:$lb haproxy -f deploy/haproxy/noop.cfg -db >"$dir/h.log" 2>&1 & pids+=($!)
sleep 1
"$RINHACTL" load --target http://127.0.0.1:$lb --default-url http://127.0.0.1:$pd \
  --fallback-url http://127.0.0.1:$pf --token 123 --profile "$PROFILE" ${LOAD_ARGS---realtime}
