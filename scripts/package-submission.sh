#!/usr/bin/env bash
# Builds the contest submission directory (participantes/<id>/ in the organizers' repository):
# docker-compose.yml at its root plus the config files it mounts, info.json and README.md, and
# no source code. The compose file's paths are rewritten to the copies and its `build:` blocks
# removed: the official runner pulls the public image named by RINHA_IMAGE.
#   RINHA_IMAGE=<dockerhub-user>/rinha:<tag> bash scripts/package-submission.sh <out-dir>
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: RINHA_IMAGE=user/rinha:tag $0 <out-dir>}
image=${RINHA_IMAGE:?set RINHA_IMAGE to the public image (docker buildx ... --push)}

mkdir -p "$out/config" "$out/haproxy" "$out/sql"
cp config/rinhad.yaml config/postgresql.conf "$out/config/"
cp deploy/haproxy/haproxy.cfg "$out/haproxy/"
cp sql/*.sql "$out/sql/"
cp info.json "$out/info.json"

# Paths relative to deploy/compose/ become relative to the submission root; the image is
# pinned; `build:` (3 lines: key, context, dockerfile) goes.
sed -e "s|\.\./\.\./config/|./config/|g" \
    -e "s|\.\./haproxy/|./haproxy/|g" \
    -e "s|\.\./\.\./sql|./sql|g" \
    -e "s|\${RINHA_IMAGE:-[^}]*}|$image|g" \
    -e '/^  build:$/,+2d' \
    deploy/compose/docker-compose.yml > "$out/docker-compose.yml"

if [ ! -f "$out/README.md" ]; then
  cat > "$out/README.md" <<'MD'
# rinha

C++20 payment intermediary: HAProxy -> 2 x rinhad (api, Pistache) -> rinhad worker (libcurl
multi to the processors, in-memory ledger, PostgreSQL copy). Api and worker talk over a Unix
socket on a shared volume.

Technologies: C++20, HAProxy 2.6, PostgreSQL 15, Pistache, libcurl, libpqxx, simdjson, spdlog.
Source code: see `source-code-repo` in info.json.
MD
fi
echo "submission written to $out (image $image)"
