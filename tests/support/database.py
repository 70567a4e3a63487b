"""A private database per test session: a SQLite file, or a fresh PostgreSQL database.

Concurrent runs (CI, several developers' runs on one machine) never share tables: each
PostgreSQL session creates `test_<random>` next to the configured database and drops it after.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from webapp.config import normalize_database_url


@contextmanager
def private_database(base_url: str | None, tmp_dir: Path) -> Iterator[str]:
    if not base_url or base_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_dir / 'test.db'}"
        return
    url = make_url(normalize_database_url(base_url))
    name = f"test_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
