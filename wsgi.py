"""Entry point for gunicorn (`wsgi:app`) and the `flask` CLI (FLASK_APP=wsgi)."""

from __future__ import annotations

import sys

from webapp.config import ConfigError

try:
    from webapp import create_app

    app = create_app()
except ConfigError as exc:
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None
