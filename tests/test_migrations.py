"""Migrations build exactly the schema the models describe, and tear it down again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.support.database import private_database
from webapp import create_app
from webapp.extensions import db


def test_upgrade_matches_models_and_downgrade_removes_everything(config_class, tmp_path):
    import os

    with private_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        config = type("MigrationConfig", (config_class,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
                assert diff == [], f"models and migrations disagree: {diff}"
                tables = set(sa.inspect(conn).get_table_names())
            assert {table.name for table in db.metadata.sorted_tables} <= tables
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
