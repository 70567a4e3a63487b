#!/usr/bin/env bash
# Make sure Redis answers at REDIS_URL; otherwise start a local redis-server (installing it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a
url=${REDIS_URL:-redis://127.0.0.1:6379/0}
hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}
[ "$port" = "$host" ] && port=6379
if .venv/bin/python - "$url" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
except Exception:
    sys.exit(1)
PY
then
  echo "Redis is up at $host:$port"
  exit 0
fi
case "$host" in
  127.0.0.1|localhost) ;;
  *) echo "Redis at $host:$port is not reachable; fix REDIS_URL or start it." >&2; exit 1 ;;
esac
scripts/apt_install.sh redis-server:redis-server
mkdir -p instance
redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
  --dir "$PWD/instance" --pidfile "$PWD/instance/redis.pid" --logfile "$PWD/instance/redis.log"
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "Started redis-server on $host:$port"; exit 0; }
  sleep 0.1
done
echo "redis-server did not start; see instance/redis.log" >&2
exit 1
