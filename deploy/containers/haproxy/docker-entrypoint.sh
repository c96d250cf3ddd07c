#!/bin/sh
# As the official image's entrypoint: options alone mean haproxy's; haproxy runs in the
# foreground (-db) in master-worker mode (-W).
set -e
if [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; fi
if [ "$1" = haproxy ]; then shift; set -- haproxy -W -db "$@"; fi
exec "$@"
