#!/usr/bin/env bash
# A PostgreSQL server for the service's tests, on loopback: reuse one that answers, or (as
# root on Debian) install postgresql and start a private cluster.
#
# Port $ASSESS_PG_PORT (default 55432), data in $ASSESS_PG_DATA (default /tmp/assess-pg),
# superuser "assess" with password "assess" (loopback only, test data only). Prints the
# server URL on its last line, e.g. postgresql://assess:assess@127.0.0.1:55432/postgres.
# Idempotent: safe to call before every test run. Exits non-zero with one line on failure.
set -euo pipefail

port=${ASSESS_PG_PORT:-55432}
data=${ASSESS_PG_DATA:-/tmp/assess-pg}
url="postgresql://assess:assess@127.0.0.1:${port}/postgres"

answers() { PGPASSWORD=assess timeout 5 psql -h 127.0.0.1 -p "$port" -U assess -d postgres -Atqc 'select 1' >/dev/null 2>&1; }

if command -v psql >/dev/null 2>&1 && answers; then
  echo "ensure-postgres: reusing the server on 127.0.0.1:${port}" >&2
  echo "$url"
  exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: PostgreSQL is not installed and only root on Debian can install it" >&2
    exit 1
  fi
  echo "ensure-postgres: installing postgresql from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi

# PostgreSQL refuses to run as root: the cluster belongs to the "postgres" system user
# (created by the package), or to whoever runs this when not root.
run_as=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  run_as=(runuser -u postgres --)
  owner=postgres
fi

if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  chown "$owner" "$data"
  chmod 700 "$data"
  pwfile=$(mktemp)
  echo assess >"$pwfile"
  chown "$owner" "$pwfile"
  "${run_as[@]}" "$bindir/initdb" -D "$data" -U assess --pwfile="$pwfile" -A scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
fi

sockdir="$data/socket"
mkdir -p "$sockdir"
chown "$owner" "$sockdir"
# Tests create and drop many databases; fsync off is for this throwaway test server only.
"${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $sockdir -c fsync=off -c max_connections=200" >/dev/null \
  || { echo "ensure-postgres: the server did not start; see $data/server.log" >&2; tail -n 5 "$data/server.log" >&2 || true; exit 1; }

for _ in $(seq 1 30); do
  if answers; then
    echo "ensure-postgres: started on 127.0.0.1:${port} (data $data)" >&2
    echo "$url"
    exit 0
  fi
  sleep 1
done
echo "ensure-postgres: started, but 127.0.0.1:${port} does not answer" >&2
exit 1
