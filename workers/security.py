"""Account-security housekeeping."""

from __future__ import annotations

import logging

from flask import current_app

from webapp.extensions import db
from webapp.security import audit, sessions
from workers import app_job

logger = logging.getLogger(__name__)


@app_job
def cleanup_audit() -> int:
    """Delete audit events past AUDIT_KEEP_DAYS; safe to run twice."""
    deleted = audit.cleanup(current_app.config["AUDIT_KEEP_DAYS"])
    ended = sessions.cleanup(int(current_app.config["REMEMBER_COOKIE_DURATION"]))
    db.session.commit()
    logger.info("audit cleanup deleted %s events and %s ended sessions", deleted, ended)
    return deleted
