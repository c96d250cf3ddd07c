#!/usr/bin/env bash
# Builds the unit and component tests (tests/unit: pure modules, and the api, hand-off, worker,
# emulator and stack components in-process on loopback) with a sanitizer and runs them.
# Usage: scripts/sanitize.sh address|undefined|thread [BUILD_DIR] [ctest args...]
#   address: ASan + UBSan with GCC at -O0 (build-asan by default; RINHA_SANITIZE_OPT overrides)
#   thread:  TSan with clang (build-tsan), which also checks the thread-safety annotations
#            (-Wthread-safety, as errors): the one clang build of every library.
# Any sanitizer report fails the test that made it. scripts/test.sh runs address and thread.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:?usage: scripts/sanitize.sh address|undefined|thread [BUILD_DIR] [ctest args...]}
BUILD_DIR=${2:-build-${KIND/address/asan}}
BUILD_DIR=${BUILD_DIR/build-thread/build-tsan}
BUILD_DIR=${BUILD_DIR/build-undefined/build-ubsan}
shift $(($# < 2 ? $# : 2))
compiler=()
[ "$KIND" = thread ] && compiler=(-DCMAKE_CXX_COMPILER=clang++)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINHA_SANITIZE="$KIND" \
  -DRINHA_WERROR=ON "${compiler[@]}" >/dev/null
# Only the unit test binaries (and the libraries they link): no rinhad, rinhactl, integration.
targets=$(cd tests/unit && ls ./*_test.cpp | sed 's|^\./||; s|\.cpp$||')
# shellcheck disable=SC2086
cmake --build "$BUILD_DIR" -j"$(nproc)" --target $targets
# halt_on_error: the first report ends the test binary with an error; suppressions for the
# uninstrumented system libraries live beside this script.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp}
cd "$BUILD_DIR"
ctest -L unit --output-on-failure -j2 --timeout 600 "$@"
