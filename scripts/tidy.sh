#!/usr/bin/env bash
# clang-tidy as .clang-tidy configures it (the house naming rules of STYLE.md, bugprone-*,
# concurrency-*) over every src/ and cmd/ translation unit and the headers they include. Usage:
# scripts/tidy.sh BUILD_DIR (needs its compile_commands.json). Exit 1 on any finding.
#
# A TU that passed is remembered under a hash of everything its result depends on: clang-tidy's
# version, .clang-tidy, this script, the compile command and the TU as clang preprocesses it
# (every header it includes, ours and the system's), with the checkout's and the build dir's paths
# replaced by placeholders. An unchanged TU is not analysed again: same input, same verdict. The
# cache is the machine's (RINHA_TIDY_CACHE_DIR, default ~/.cache/rinha-tidy), as ccache's is, so
# that a fresh clone or build dir (CI) finds what another checkout already passed. A full pass
# takes ~8-10 min on 2 cores, the repeat after a one-file change seconds. RINHA_TIDY_CACHE=0
# analyses everything.
set -euo pipefail
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/.."
BUILD_DIR=$(realpath "${1:-build}")
CACHE=${RINHA_TIDY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rinha-tidy}
mkdir -p "$CACHE"
USE_CACHE=${RINHA_TIDY_CACHE:-1}  # 0: look nothing up (the cache is shared: nothing is deleted)
find "$CACHE" -type f -mtime +30 -delete  # keys of TUs long since changed
# What every TU's key shares.
COMMON=$( { clang-tidy --version; cat .clang-tidy "$SELF"; } | sha256sum | cut -d' ' -f1)
# sed expressions that put placeholders for the build dir and the checkout (build dir first: it
# is often inside the checkout), so that keys do not depend on where the clone lives.
quote() { printf '%s' "$1" | sed 's/[][\\.*^$|]/\\&/g'; }
UNPATH="s|$(quote "$BUILD_DIR")|@BUILD@|g; s|$(quote "$PWD")|@SRC@|g"
export BUILD_DIR CACHE COMMON UNPATH USE_CACHE

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
      key=$( { echo "$COMMON $cmd"; echo "$pre"; } | sed "$UNPATH" | sha256sum | cut -d' ' -f1)
      if [ "$USE_CACHE" != 0 ] && [ -e "$CACHE/$key" ]; then
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
