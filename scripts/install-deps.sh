#!/usr/bin/env bash
# Installs the Debian 12 packages rinha builds and runs with; does nothing when all are present.
set -euo pipefail
PKGS=(build-essential cmake pkg-config git ca-certificates
      libpistache-dev libpqxx-dev libcli11-dev libyaml-cpp-dev libspdlog-dev catch2
      libcurl4-openssl-dev libsimdjson-dev nlohmann-json3-dev
      postgresql haproxy docker-compose wrk procps iproute2 curl clang libclang-rt-14-dev clang-format clang-tidy
      libjs-chart.js chromium fonts-dejavu-core
      podman podman-compose runc netavark aardvark-dns iptables mmdebstrap)
# libjs-chart.js: inlined into run reports (rinhactl load --report); chromium + a font: the
# browser test that renders one headless. podman & co: real containers without a registry
# (scripts/container-run.sh, tests/integration/container_test.cpp); netavark needs iptables
# (without it every container on a network fails: "netavark: No such file or directory").
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
