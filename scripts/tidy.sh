#!/usr/bin/env bash
# clang-tidy as .clang-tidy configures it (the house naming rules of STYLE.md, bugprone-*,
# concurrency-*) over every src/ and cmd/ translation unit and the headers they include. Usage: scripts/tidy.sh BUILD_DIR (needs its
# compile_commands.json). Exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
out=$(find src cmd -name '*.cpp' -print0 |
      xargs -0 -P"$(nproc)" -n8 clang-tidy -p "$BUILD_DIR" --quiet 2>/dev/null |
      grep -E "^$PWD/(src|cmd)/.*(warning|error):" | sort -u || true)
if [ -n "$out" ]; then
  echo "$out"
  echo "tidy: $(echo "$out" | wc -l) findings"
  exit 1
fi
echo "tidy: $(find src cmd -name '*.cpp' | wc -l) files, no findings"
