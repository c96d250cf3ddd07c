#!/usr/bin/env bash
# Builds every image the container run needs, with podman and no registry:
#   debian:12, debian:12-slim        base made by mmdebstrap from this host's apt sources
#   haproxy:2.6-alpine                stand-in from Debian's HAProxy 2.6 (deploy/containers/haproxy)
#   postgres:15-alpine                stand-in from Debian's PostgreSQL 15 (deploy/containers/postgres)
#   rinha/rinhad:latest               the submission's Dockerfile, unchanged
#   rinha/processor:latest            the processor emulator (host-built rinhactl on the rinhad image)
# Repeat runs are cheap: the base is made only when missing (REBUILD_BASE=1 forces it) and podman
# reuses its layer cache for everything else, so only what changed is rebuilt.
# Environment: BUILD_DIR (where bin/rinhactl is; default build), REBUILD_BASE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-lib.sh
. scripts/container-lib.sh
BUILD_DIR=${BUILD_DIR:-build}

step() { printf 'container-images: %s\n' "$*"; }
command -v podman >/dev/null ||
  { echo "container-images: podman is missing: scripts/install-deps.sh installs it" >&2; exit 1; }

# The base. mmdebstrap reads no apt configuration of the host by itself: hand it the host's
# sources and its apt option files (those without hooks that run host programs), at run time,
# so that the image reaches the same package registry as the host and the repo names none.
make_base() {
  local sources=() aptopts=() f tmp
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] && sources+=("$f")
  done
  [ ${#sources[@]} -gt 0 ] || { echo "container-images: no apt sources on this host" >&2; return 1; }
  for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] || continue
    grep -qE 'Invoke|Pre-Install-Pkgs' "$f" && continue
    aptopts+=("--aptopt=$f")
  done
  tmp=$(mktemp -d /var/tmp/rinha-base.XXXXXX)
  step "making the Debian 12 base with mmdebstrap (~1 min)"
  if ! mmdebstrap --quiet --variant=minbase "${aptopts[@]}" bookworm "$tmp/base.tar" \
         "${sources[@]}"; then
    rm -rf "$tmp"; return 1
  fi
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tmp/base.tar" docker.io/library/debian:12 >/dev/null
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim
  rm -rf "$tmp"
}

if [ -n "${REBUILD_BASE:-}" ] || ! podman image exists docker.io/library/debian:12; then
  make_base
else
  step "base debian:12 present (REBUILD_BASE=1 remakes it)"
fi
podman image exists docker.io/library/debian:12-slim ||
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim

build() {  # tag context [containerfile] [extra args...]
  local tag=$1 ctx=$2 file=${3:-$2/Containerfile}; shift 3 || shift $#
  step "building $tag"
  # --pull=never: every FROM is local; a missing one is an error, never a registry lookup.
  podman build --quiet --pull=never --network=host -t "$tag" -f "$file" "$@" "$ctx" >/dev/null
}
build docker.io/library/haproxy:2.6-alpine deploy/containers/haproxy
build docker.io/library/postgres:15-alpine deploy/containers/postgres
# The build stage gets a name of its own: a named image is never pruned, so its layers (the
# compilers, the compiled tree) stay cached for the next build of unchanged sources.
build "$RINHA_IMAGE_NAME-build" . Dockerfile --target build
build "$RINHA_IMAGE_NAME" . Dockerfile

[ -x "$BUILD_DIR/bin/rinhactl" ] || { echo "container-images: $BUILD_DIR/bin/rinhactl missing (build first)" >&2; exit 1; }
ctx=$(mktemp -d /var/tmp/rinha-processor.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$BUILD_DIR/bin/rinhactl" deploy/containers/processor/Containerfile "$ctx/"
build "$PROCESSOR_IMAGE_NAME" "$ctx" "$ctx/Containerfile" --build-arg "RINHAD_IMAGE=$RINHA_IMAGE_NAME"
# Images of earlier builds, untagged by these: keep podman storage tidy.
podman image prune -f >/dev/null
step "images ready"
