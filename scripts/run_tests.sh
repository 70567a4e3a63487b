#!/usr/bin/env bash
# The whole suite: lint, then every test on SQLite, then again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
# Two processes by default (one per core here); each has its own Redis, database and browser.
WORKERS=${PYTEST_WORKERS:-2}
export PYTHONDONTWRITEBYTECODE=1

echo "== Lint (ruff) =="
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== Translations (every message in Turkish and French) =="
.venv/bin/python scripts/translations.py check

echo "== Test run 1/2: SQLite =="
env -u TEST_DATABASE_URL .venv/bin/pytest -p no:cacheprovider -n "$WORKERS" "$@"

if .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
then
  echo "== Test run 2/2: PostgreSQL ($PG_URL) =="
  TEST_DATABASE_URL=$PG_URL .venv/bin/pytest -p no:cacheprovider -n "$WORKERS" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is unreachable at $PG_URL and CI requires the PostgreSQL run." >&2
  exit 1
else
  echo "PostgreSQL is unreachable at $PG_URL: skipped the PostgreSQL run (CI runs it)."
fi
