#!/usr/bin/env bash
# clang-tidy as .clang-tidy configures it (the house naming rules of STYLE.md, bugprone-*,
# concurrency-*) over every src/ and cmd/ translation unit and the headers they include. Usage:
# scripts/tidy.sh BUILD_DIR (needs its compile_commands.json). Exit 1 on any finding.
#
# A TU that passed is remembered in BUILD_DIR/tidy-cache under a hash of everything its result
# depends on: clang-tidy's version, .clang-tidy, this script, the compile command and the TU as
# clang preprocesses it (every header it includes, ours and the system's). An unchanged TU is not
# analysed again: same input, same verdict. A full pass takes ~10 min on 2 busy cores, the
# repeat after a one-file change seconds. RINHA_TIDY_CACHE=0 analyses everything.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
BUILD_DIR=$(realpath "${1:-build}")
CACHE="$BUILD_DIR/tidy-cache"
mkdir -p "$CACHE"
[ "${RINHA_TIDY_CACHE:-1}" != 0 ] || rm -f "$CACHE"/*
find "$CACHE" -type f -mtime +30 -delete  # keys of TUs long since changed
# What every TU's key shares.
COMMON=$( { clang-tidy --version; cat .clang-tidy "$SELF"; } | sha256sum | cut -d' ' -f1)
export BUILD_DIR CACHE COMMON

# tidy_one FILE: prints FILE's findings (src/ and cmd/ only); on a clean pass records its key.
tidy_one() {
  local f=$1 abs=$PWD/$1 dir cmd key="" out pre
  dir=$(jq -r --arg f "$abs" 'first(.[] | select(.file == $f)) | .directory' \
        "$BUILD_DIR/compile_commands.json")
  cmd=$(jq -r --arg f "$abs" 'first(.[] | select(.file == $f)) | .command' \
        "$BUILD_DIR/compile_commands.json")
  if [ -n "$cmd" ] && [ "$cmd" != null ]; then
    local -a argv flags=()
    eval "argv=($cmd)"  # CMake writes the command shell-quoted
    local i=1
    while [ $i -lt ${#argv[@]} ]; do  # the compiler's flags, without -o OUT and -c FILE
      case ${argv[$i]} in
        -o|-c) i=$((i + 2)); continue ;;
      esac
      flags+=("${argv[$i]}")
      i=$((i + 1))
    done
    # The key only when clang preprocesses it as clang-tidy will; else no caching.
    if pre=$(cd "$dir" && clang++ "${flags[@]}" -E "$abs" 2>/dev/null); then
      key=$( { echo "$COMMON $cmd"; echo "$pre"; } | sha256sum | cut -d' ' -f1)
      if [ -e "$CACHE/$key" ]; then
        touch "$CACHE/$key"
        echo "=unchanged"
        return 0
      fi
    fi
  fi
  local rc=0
  out=$(clang-tidy -p "$BUILD_DIR" --quiet "$f" 2>/dev/null) || rc=$?
  out=$(grep -E "^$PWD/(src|cmd)/.*(warning|error):" <<<"$out" || true)
  if [ -n "$out" ]; then
    echo "$out"
  elif [ $rc = 0 ] && [ -n "$key" ]; then
    touch "$CACHE/$key"
  fi
}
export -f tidy_one

files=$(find src cmd -name '*.cpp' | wc -l)
all=$(find src cmd -name '*.cpp' -print0 | xargs -0 -P"$(nproc)" -n1 bash -c 'tidy_one "$0"')
unchanged=$(grep -c '^=unchanged$' <<<"$all" || true)
out=$(grep -v '^=unchanged$' <<<"$all" | sort -u || true)
if [ -n "$out" ]; then
  echo "$out"
  echo "tidy: $(echo "$out" | wc -l) findings"
  exit 1
fi
echo "tidy: $files files, no findings ($unchanged of them unchanged since their last clean pass)"
