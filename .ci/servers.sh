# Sourced by .ci/run: a real PostgreSQL on a loopback port for the tests marked `postgres`,
# installed from Debian's packages when the machine lacks it, started in a folder of its own and
# stopped when the run ends. When it cannot be installed or started, PAYHELP_TEST_POSTGRES_URL
# stays unset and those tests are skipped with that reason (pytest -rs shows it), never passed.

PAYHELP_CI_SERVERS="$(mktemp -d /tmp/payhelp-ci-servers.XXXXXX)"
PAYHELP_PG_PORT="${PAYHELP_PG_PORT:-54329}"

_payhelp_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_payhelp_install_postgres() {
  if [ -n "$(_payhelp_pg_bin)" ]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci: no apt-get here: PostgreSQL tests will be skipped" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" != "0" ]; then sudo="sudo -n"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null 2>&1
  }
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
  rm -rf "$PAYHELP_CI_SERVERS"
}

trap payhelp_stop_servers EXIT
if _payhelp_install_postgres && _payhelp_start_postgres; then
  :
else
  echo "ci: PostgreSQL could not be started: the postgres tests will be skipped" >&2
fi
