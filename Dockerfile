# rinhad image: one image for both roles (the compose file passes --mode=api or --mode=worker).
# Built from Debian 12 packages only, like the local build (scripts/install-deps.sh); the build
# stage's package list is checked against that script by tests/integration/deploy_test.cpp.
#   docker buildx build --platform linux/amd64 -t <dockerhub-user>/rinha:<tag> --push .
# then set RINHA_IMAGE (or the image: line) in deploy/compose/docker-compose.yml.

FROM --platform=linux/amd64 debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libpistache-dev libpqxx-dev libcli11-dev libyaml-cpp-dev libspdlog-dev \
      libcurl4-openssl-dev libsimdjson-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmd cmd
COPY src src
COPY sql sql
COPY config config
# Without the tests: a change under tests/ leaves every layer of this image cached.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINHA_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target rinhad \
 && strip -o /rinhad /build/bin/rinhad

# Runtime: the shared libraries rinhad links (their dependencies come along), nothing else.
FROM --platform=linux/amd64 debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpistache0 libpqxx-6.4 libyaml-cpp0.7 libspdlog1.10 libfmt9 libcurl4 libsimdjson14 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home rinha \
 && mkdir -p /run/rinha /etc/rinha \
 && chown rinha:rinha /run/rinha
COPY --from=build /rinhad /usr/local/bin/rinhad
COPY config/rinhad.yaml /etc/rinha/rinhad.yaml
# The hand-off socket and the journal live in /run/rinha (a volume shared by api and worker
# containers; a fresh named volume takes this directory's owner).
USER rinha
ENTRYPOINT ["/usr/local/bin/rinhad", "--config", "/etc/rinha/rinhad.yaml"]
CMD ["--mode=api"]
