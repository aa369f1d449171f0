# Sourced by .ci/run: a real PostgreSQL and a real Redis on loopback ports for the tests marked
# `postgres`, `redis` and `celery`, installed from Debian's packages when the machine lacks them,
# started in a folder of their own and stopped when the run ends. When one cannot be installed or
# started, its PAYHELP_TEST_*_URL stays unset and its tests are skipped with that reason (pytest
# -rs shows it), never passed.

PAYHELP_CI_SERVERS="$(mktemp -d /tmp/payhelp-ci-servers.XXXXXX)"
PAYHELP_PG_PORT="${PAYHELP_PG_PORT:-54329}"
PAYHELP_REDIS_PORT="${PAYHELP_REDIS_PORT:-63799}"

_payhelp_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Install Debian packages "$@" (quietly; the package lists are refreshed only when needed).
_payhelp_apt() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci: no apt-get here to install $*" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" != "0" ]; then sudo="sudo -n"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
  }
}

_payhelp_install_postgres() {
  if [ -n "$(_payhelp_pg_bin)" ]; then
    return 0
  fi
  _payhelp_apt postgresql
}

_payhelp_start_redis() {
  command -v redis-server >/dev/null 2>&1 || _payhelp_apt redis-server || return 1
  local dir="$PAYHELP_CI_SERVERS/redis"
  mkdir -p "$dir"
  # No persistence, loopback only, its own folder; daemonized and stopped by its pid file.
  redis-server --port "$PAYHELP_REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    >/dev/null || return 1
  local tries=0
  until redis-cli -p "$PAYHELP_REDIS_PORT" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || return 1
    sleep 0.1
  done
  PAYHELP_REDIS_STOP="redis-cli -p $PAYHELP_REDIS_PORT shutdown nosave"
  export PAYHELP_TEST_REDIS_URL="redis://127.0.0.1:$PAYHELP_REDIS_PORT/0"
  echo "ci: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$PAYHELP_REDIS_PORT" >&2
}

_payhelp_start_postgres() {
  local bin data run as=""
  bin="$(_payhelp_pg_bin)"
  [ -n "$bin" ] || return 1
  data="$PAYHELP_CI_SERVERS/pg"
  run="$PAYHELP_CI_SERVERS/run"
  mkdir -p "$data" "$run"
  if [ "$(id -u)" = "0" ]; then
    # initdb refuses to run as root: the cluster belongs to the postgres user.
    chown postgres "$PAYHELP_CI_SERVERS" "$data" "$run"
    as="runuser -u postgres --"
  fi
  $as "$bin/initdb" -D "$data" -A trust -U payhelp >"$PAYHELP_CI_SERVERS/initdb.log" 2>&1 || return 1
  $as "$bin/pg_ctl" -D "$data" -l "$PAYHELP_CI_SERVERS/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PAYHELP_PG_PORT -k $run -c fsync=off" start \
    >/dev/null || return 1
  "$bin/createdb" -h 127.0.0.1 -p "$PAYHELP_PG_PORT" -U payhelp payhelp_test || return 1
  PAYHELP_PG_STOP="$as $bin/pg_ctl -D $data -m fast stop"
  export PAYHELP_TEST_POSTGRES_URL="postgresql+psycopg://payhelp@127.0.0.1:$PAYHELP_PG_PORT/payhelp_test"
  echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PAYHELP_PG_PORT" >&2
}

payhelp_stop_servers() {
  if [ -n "${PAYHELP_PG_STOP:-}" ]; then
    $PAYHELP_PG_STOP >/dev/null 2>&1 || true
  fi
  if [ -n "${PAYHELP_REDIS_STOP:-}" ]; then
    $PAYHELP_REDIS_STOP >/dev/null 2>&1 || true
  fi
  rm -rf "$PAYHELP_CI_SERVERS"
}

trap payhelp_stop_servers EXIT
if _payhelp_install_postgres && _payhelp_start_postgres; then
  :
else
  echo "ci: PostgreSQL could not be started: the postgres tests will be skipped" >&2
fi
if _payhelp_start_redis; then
  :
else
  echo "ci: Redis could not be started: the redis and celery tests will be skipped" >&2
fi
