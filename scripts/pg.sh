#!/usr/bin/env bash
# pg.sh — PostgreSQL from the machine's own binaries, no server to provision.
#
#   scripts/pg.sh start          start (or reuse) the persistent cluster under .data/pg and
#                                print `export DATABASE_URL=…` for eval
#   scripts/pg.sh stop           stop the persistent cluster
#   scripts/pg.sh test CMD...    start a throwaway cluster (fsync off) in a temporary folder,
#                                run CMD with DATABASE_URL set, then stop and remove the
#                                cluster whatever CMD's outcome; exit with CMD's status
#
# A DATABASE_URL set by the caller always wins: nothing is started, `start` prints nothing
# and `test` runs CMD against it. As root, the server runs as the `postgres` user (initdb
# refuses root). Without PostgreSQL binaries, Debian's `postgresql` package is installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'pg.sh: %s\n' "$*" >&2; }

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir)
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  fi
  return 1
}

ensure_binaries() {
  if ! BINDIR=$(find_bindir); then
    log "no PostgreSQL binaries found: installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
    BINDIR=$(find_bindir) || { log "PostgreSQL binaries still missing after install"; exit 1; }
  fi
}

# as_owner runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# prepare_dir creates a folder the cluster owner can write in.
prepare_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$1"; fi
  chmod 700 "$1"
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# start_cluster DATADIR PORT EXTRA_OPTS: initdb when needed, then start on 127.0.0.1:PORT.
start_cluster() {
  local data=$1 port=$2 opts=$3
  if [ ! -f "$data/PG_VERSION" ]; then
    prepare_dir "$data"
    as_owner "$BINDIR/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
      || as_owner "$BINDIR/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
  fi
  as_owner "$BINDIR/pg_ctl" -D "$data" -w -t 60 -l "$data/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$data $opts" start >/dev/null \
    || { log "PostgreSQL did not start; its log:"; tail -n 30 "$data/server.log" >&2; exit 1; }
}

create_db() {
  local port=$1
  as_owner "$BINDIR/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'parcours'" | grep -q 1 \
    || as_owner "$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U postgres parcours
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/parcours?sslmode=disable"; }

cmd_start() {
  if [ -n "${DATABASE_URL:-}" ]; then log "DATABASE_URL is set: using it, starting nothing"; return 0; fi
  ensure_binaries
  local data="$root/.data/pg" port
  mkdir -p "$root/.data"
  if [ -f "$data/PG_VERSION" ] && as_owner "$BINDIR/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port=$(cat "$data/parcours.port")
    log "reusing the cluster in .data/pg on port $port"
  else
    port=$(free_port)
    start_cluster "$data" "$port" ""
    echo "$port" > "$data/parcours.port"
    log "started the cluster in .data/pg on port $port"
  fi
  create_db "$port"
  echo "export DATABASE_URL='$(url_for "$port")'"
}

cmd_stop() {
  ensure_binaries
  local data="$root/.data/pg"
  [ -f "$data/PG_VERSION" ] || { log "no cluster in .data/pg"; return 0; }
  as_owner "$BINDIR/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 && log "stopped" || log "not running"
}

cmd_test() {
  [ $# -gt 0 ] || { log "usage: pg.sh test CMD..."; exit 2; }
  if [ -n "${DATABASE_URL:-}" ]; then
    log "DATABASE_URL is set: running against it"
    exec "$@"
  fi
  ensure_binaries
  local port
  PG_TMP=$(mktemp -d /tmp/parcours-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  cleanup() {
    as_owner "$BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  port=$(free_port)
  start_cluster "$PG_TMP/data" "$port" "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  create_db "$port"
  log "throwaway cluster on port $port"
  local status=0
  DATABASE_URL=$(url_for "$port") "$@" || status=$?
  return "$status"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  test) shift; cmd_test "$@" ;;
  *) log "usage: pg.sh start | stop | test CMD..."; exit 2 ;;
esac
