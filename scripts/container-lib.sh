# Shared settings of the container scripts (sourced). podman reads the repo's containers.conf
# (runc, ulimits within this host's hard limits, netavark, no systemd) through CONTAINERS_CONF:
# nothing under /etc is changed.
# shellcheck shell=bash
CONTAINERS_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deploy/containers/containers.conf
export CONTAINERS_CONF
RINHA_IMAGE_NAME=${RINHA_IMAGE:-rinha/rinhad:latest}
PROCESSOR_IMAGE_NAME=${PROCESSOR_IMAGE:-rinha/processor:latest}
