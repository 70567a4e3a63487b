"""gunicorn settings the Procfiles load (`--config gunicorn.conf.py`).

With LOG_FORMAT=json, gunicorn's error and access logs print through the app's JSON formatter
and secret filter, so every line the web process writes is one JSON object; the access line
(the Procfile's --access-logformat) becomes its `message`. With the default text format
nothing here changes what gunicorn prints.
"""

from __future__ import annotations

import os

if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
    _filters = ["context", "redact"]
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        # The app's loggers have handlers of their own and propagate to the root.
        "root": {"handlers": []},
        # No levels here: --log-level and gunicorn's own defaults still apply.
        "loggers": {
            "gunicorn.error": {"handlers": ["error"], "propagate": False},
            "gunicorn.access": {"handlers": ["access"], "propagate": False},
        },
        "filters": {
            "context": {"()": "webapp.logs.ContextFilter"},
            "redact": {"()": "webapp.logs.RedactingFilter"},
        },
        "formatters": {"json": {"()": "webapp.logs.formatter", "log_format": "json"}},
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": _filters,
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": _filters,
                "stream": "ext://sys.stdout",
            },
        },
    }
