# Shared by bench scripts that start one stack (sourced): OUT as a fresh directory, the stack's
# run dir ($stack), background pids ($pids) and their cleanup on exit, free loopback ports.
# Needs OUT and RINHACTL set.
rm -rf "$OUT"
mkdir -p "$OUT"
pids=()
stack="$OUT/stack"
cleanup() {
  "$RINHACTL" stack down --run-dir "$stack" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
