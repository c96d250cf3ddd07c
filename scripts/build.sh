#!/usr/bin/env bash
# Configures and builds rinha into build/ (BUILD_DIR overrides; CMAKE_ARGS adds cmake options,
# e.g. CMAKE_ARGS=-DRINHA_WERROR=ON as scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
