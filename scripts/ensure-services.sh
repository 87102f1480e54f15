#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, starting them when they are installed but
# stopped, and that the tests' database exists. Used by `make test`.
set -euo pipefail

PGHOST=127.0.0.1
PGPORT=5432
PGUSER=postgres
REDIS_PORT=6379
DB_NAME="${1:-tracker}"

wait_for() {  # wait_for <description> <command...>
  local what=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $what did not come up" >&2
  return 1
}

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  else
    echo "error: PostgreSQL is not running on $PGHOST:$PGPORT and is not installed here" >&2
    exit 1
  fi
  wait_for PostgreSQL pg_isready -q -h "$PGHOST" -p "$PGPORT"
fi

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis…"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  else
    echo "error: Redis is not running on 127.0.0.1:$REDIS_PORT and is not installed here" >&2
    exit 1
  fi
  wait_for Redis sh -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT ping | grep -q PONG"
fi

if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
  createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$DB_NAME"
fi
echo "PostgreSQL $PGHOST:$PGPORT and Redis 127.0.0.1:$REDIS_PORT are up."
