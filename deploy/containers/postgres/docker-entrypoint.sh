#!/bin/bash
# The parts of the official postgres image's entrypoint the compose file uses: as root, prepare
# the directories and drop to `postgres`; on an empty PGDATA, initdb with POSTGRES_USER and
# POSTGRES_PASSWORD (password auth over the network, trust on the local socket), create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql|*.sh against it on a temporary
# socket-only server; then exec the command (`postgres -c ...`).
set -euo pipefail
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "docker-entrypoint: POSTGRES_PASSWORD is required on a fresh data directory" >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  # The temporary server takes the real command's options (config file) but no TCP listener.
  shift
  pg_ctl -D "$PGDATA" -w -o "$(printf '%q ' "$@") -c listen_addresses=''" start >/dev/null
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user" --dbname postgres)
  if [ "$db" != postgres ]; then
    "${psql[@]}" -qc "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "docker-entrypoint: running $f"; "${psql[@]}" --dbname "$db" -qf "$f" ;;
      *.sh) echo "docker-entrypoint: sourcing $f"; . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  set -- postgres "$@"
  echo "docker-entrypoint: database $db initialised"
fi
exec "$@"
