#!/usr/bin/env bash
# A throwaway Postgres cluster on loopback, for the tests and for trying fangyan on Postgres.
# Installs Debian's postgresql when the server is missing.
#
#   eval "$(scripts/postgres.sh start)"   # exports FANGYAN_TEST_DATABASE_URL and PG_WORK
#   scripts/postgres.sh stop              # stops the cluster started from this shell
#
# `start` runs initdb as the `postgres` user (the server refuses to run as root) in a new
# directory under /tmp, picks a free port on 127.0.0.1, trusts local connections only, and
# prints the `export` lines; tests create one database per test app under that server.
set -euo pipefail

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

case "${1:-}" in
  start)
    if [ -z "$(pg_bin)" ]; then
      sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    fi
    bin=$(pg_bin)
    work=$(mktemp -d /tmp/fangyan-pg.XXXXXX)
    chown postgres: "$work" 2>/dev/null || sudo chown postgres: "$work"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_postgres "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # fsync stays on: the durability test kills the server and counts what survived.
    as_postgres "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$work -c max_connections=400 -c shared_buffers=128MB" \
      start >/dev/null
    echo "export PG_WORK=$work"
    echo "export FANGYAN_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    work=${PG_WORK:?run "eval \"\$(scripts/postgres.sh start)\"" first}
    as_postgres "$(pg_bin)/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null || true
    rm -rf "$work"
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop" >&2
    exit 2
    ;;
esac
