#!/usr/bin/env bash
# The test command: installs what is missing, builds (warnings are errors), runs every test
# (unit, integration against real PostgreSQL and HAProxy started by the tests, fuzz, style) with
# ctest, then the unit and component tests again under ASan+UBSan (GCC) and TSan (clang, which
# also checks the thread-safety annotations): scripts/sanitize.sh. .ci/run calls exactly this.
# RINHA_SANITIZERS=0 skips the sanitizer phases (a quick local run). Extra args go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() {  # name command...: runs it and prints its wall time
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "test.sh: phase $name took $((SECONDS - start)) s"
}
phase install-deps bash scripts/install-deps.sh
phase build env BUILD_DIR="${BUILD_DIR:-build}" CMAKE_ARGS="-DRINHA_WERROR=ON" bash scripts/build.sh
phase ctest bash -c 'cd "$0" && ctest --output-on-failure -j2 --timeout 600 "$@"' \
  "${BUILD_DIR:-build}" "$@"
if [ "${RINHA_SANITIZERS:-1}" != 0 ]; then
  phase asan-ubsan bash scripts/sanitize.sh address
  phase tsan bash scripts/sanitize.sh thread
fi
