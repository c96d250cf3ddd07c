#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test (unit + integration
# against real PostgreSQL and HAProxy started by the tests). .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 --timeout 600 "$@"
