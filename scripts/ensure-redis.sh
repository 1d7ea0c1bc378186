#!/usr/bin/env bash
# A Redis server for the service's queue tests, on loopback: reuse one that answers, or (as
# root on Debian) install redis-server and start one.
#
# Port $ASSESS_REDIS_PORT (default 56379), data in $ASSESS_REDIS_DATA (default
# /tmp/assess-redis, append-only file on so queued jobs survive a Redis restart). Prints the
# URL on its last line, e.g. redis://127.0.0.1:56379/0. Idempotent; one line on failure.
set -euo pipefail

port=${ASSESS_REDIS_PORT:-56379}
data=${ASSESS_REDIS_DATA:-/tmp/assess-redis}
url="redis://127.0.0.1:${port}/0"

answers() { [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

if command -v redis-cli >/dev/null 2>&1 && answers; then
  echo "ensure-redis: reusing the server on 127.0.0.1:${port}" >&2
  echo "$url"
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: redis-server is not installed and only root on Debian can install it" >&2
    exit 1
  fi
  echo "ensure-redis: installing redis-server from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

mkdir -p "$data"
redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --daemonize yes \
  --appendonly yes --save "" --logfile "$data/redis.log" --pidfile "$data/redis.pid" \
  --protected-mode yes

for _ in $(seq 1 30); do
  if answers; then
    echo "ensure-redis: started on 127.0.0.1:${port} (data $data)" >&2
    echo "$url"
    exit 0
  fi
  sleep 0.5
done
echo "ensure-redis: started, but 127.0.0.1:${port} does not answer; see $data/redis.log" >&2
exit 1
