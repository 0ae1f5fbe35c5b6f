#!/usr/bin/env bash
# Start (or stop) a throw-away PostgreSQL on loopback for the test suite.
#   .ci/postgres.sh start   → prints the SQLAlchemy URL to use
#   .ci/postgres.sh stop
set -euo pipefail
PGPORT=${MEDQC_PG_PORT:-55432}
PGDATA=${MEDQC_PG_DATA:-/tmp/medqc-pg-$PGPORT}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z "$dir" || ! -x "$dir/initdb" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    else
      sudo -n sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql' >&2
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$dir"
}

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    BIN=$(pg_bin)
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
      mkdir -p "$PGDATA"
      [[ $(id -u) -eq 0 ]] && chown postgres "$PGDATA"
      as_pg "$BIN/initdb" -D "$PGDATA" -A trust -U postgres >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
        -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    fi
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='medqc_test'" \
      | grep -q 1 || as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres medqc_test
    echo "postgresql+asyncpg://postgres@127.0.0.1:$PGPORT/medqc_test"
    ;;
  stop)
    BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -n "$BIN" && -f "$PGDATA/PG_VERSION" ]]; then
      as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
      rm -rf "$PGDATA"
    fi
    ;;
esac
